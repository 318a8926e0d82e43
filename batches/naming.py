"""Pure rules for batches: which SKU a file belongs to, and what each output is called in the batch ZIP.

No Django here, so the rules are tested (and reused by the CLI) without a database.
"""

from __future__ import annotations

import posixpath
import re
import string
import unicodedata

MAX_SKU_LENGTH = 120
NAMING_FIELDS = {
    "sku": "the SKU's name",
    "style": "the instruction's style (white_cutout, ghost_mannequin, …)",
    "instruction": "the instruction's number, from 1",
    "variation": "the variation's number, from 1",
    "version": "the output's version, from 0",
    "ext": "the file's extension (jpg, png)",
    "job": "the job's number",
}
PATTERN_FIELDS = ("sku", "anything")


class NamingError(ValueError):
    """A template or pattern we refuse; the message is shown to users verbatim."""


def _fields(template: str, allowed) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise NamingError(f"“{template}” has an unmatched brace ({exc})") from None
    names = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in allowed or spec or conversion:
            known = ", ".join("{" + f + "}" for f in allowed)
            raise NamingError(f"“{{{field}}}” is not a field we fill in; use {known}")
        names.append(field)
    return names


def naming_errors(template: str) -> str | None:
    """Why a naming template cannot name a batch's outputs uniquely and safely, or None."""
    template = template.strip()
    if not template:
        return "Give a naming template, e.g. {sku}/{sku}_{style}_{variation}.{ext}"
    if len(template) > 200:
        return "The naming template may be at most 200 characters"
    try:
        fields = _fields(template, NAMING_FIELDS)
    except NamingError as exc:
        return str(exc)
    if "\\" in template or template.startswith("/") or ".." in template.split("/"):
        return "The naming template makes paths inside the ZIP: no leading /, no \\, no .. folders"
    if any(not part for part in template.split("/")):
        return "The naming template has an empty folder name (//, or / at the end)"
    missing = [f for f in ("sku", "variation") if f not in fields]
    if "instruction" not in fields and "style" not in fields:
        missing.append("instruction or style")
    if missing:
        return (
            "The naming template must contain "
            + ", ".join("{" + m + "}" for m in missing)
            + (" so that every output gets its own name")
        )
    if not template.endswith(".{ext}"):
        return "The naming template must end with .{ext} (jpg or png, whichever the output is)"
    return None


def safe_part(value: str) -> str:
    """A name fit for a path segment in any ZIP tool: letters, digits, - _ . and spaces; never . or .."""
    value = unicodedata.normalize("NFC", value)
    cleaned = re.sub(r"[^\w .-]", "_", value).strip(" .")
    return cleaned or "_"


def render_name(template: str, **values) -> str:
    """The path of one output in the batch ZIP; each value is made path-safe first."""
    return template.format(**{k: safe_part(str(v)) for k, v in values.items()})


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A file-name pattern such as `{sku}_{anything}.jpg` as a regex; `*` also means anything."""
    pattern = pattern.strip()
    if not pattern:
        raise NamingError("Give a pattern for the file names, e.g. {sku}_{anything}.jpg")
    if "/" in pattern or "\\" in pattern:
        raise NamingError("The pattern matches file names only, without folders")
    fields = _fields(pattern.replace("*", "{anything}"), PATTERN_FIELDS)
    if fields.count("sku") != 1:
        raise NamingError("The pattern must contain {sku} exactly once, e.g. {sku}_{anything}.jpg")
    regex = ""
    for literal, field, _spec, _conv in string.Formatter().parse(pattern.replace("*", "{anything}")):
        regex += re.escape(literal)
        if field == "sku":
            regex += r"(?P<sku>.+?)"
        elif field == "anything":
            regex += r".*?"
    return re.compile(regex, re.IGNORECASE)


def sku_from_name(regex: re.Pattern[str], filename: str) -> str | None:
    """The SKU a file name carries, or None. A pattern without an extension matches the name's stem."""
    name = posixpath.basename(filename)
    match = regex.fullmatch(name) or regex.fullmatch(posixpath.splitext(name)[0])
    if not match:
        return None
    sku = match.group("sku").strip()
    return sku or None


def sku_error(name: str) -> str | None:
    if not name.strip():
        return "an empty SKU name"
    if len(name) > MAX_SKU_LENGTH:
        return f"a SKU name longer than {MAX_SKU_LENGTH} characters"
    if any(unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") for c in name) or "\ufffd" in name:
        return "a SKU name with a character that cannot be stored"
    return None


def clean_path(path: str) -> str | None:
    """A relative path from a ZIP or a folder upload, normalised; None for one that climbs or is absolute.

    Absolute names, drive letters, `..` segments and backslash tricks are refused, never "fixed": a hostile
    archive gets its entry reported, not written somewhere else.
    """
    if not path or "\x00" in path:
        return None
    path = path.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def is_hidden(path: str) -> bool:
    """Files a system adds on its own (macOS resource forks, .DS_Store, Thumbs.db): skipped silently."""
    parts = path.split("/")
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or parts[-1].lower() in (
        "thumbs.db",
        "desktop.ini",
    )


def group_by_sku(paths: list[str], *, pattern: str = "") -> tuple[dict[str, list[str]], dict[str, str]]:
    """Sort paths into SKUs: by their SKU folder, or (with a pattern) by the SKU in their file name.

    A single folder around everything (the ZIP of a folder) is looked through. Returns
    ({sku: [paths, sorted]}, {path: why it is in no SKU}).
    """
    regex = pattern_regex(pattern) if pattern else None
    paths = sorted(paths)
    parents = {p.split("/")[0] for p in paths}
    # "catalogue/SKU1/a.jpg": look through the wrapper; "SKU1/a.jpg" alone is one SKU's folder.
    strip = 1 if len(parents) == 1 and any(p.count("/") >= 2 for p in paths) else 0
    skus: dict[str, list[str]] = {}
    unplaced: dict[str, str] = {}
    for path in paths:
        parts = path.split("/")[strip:]
        if regex is not None:
            sku = sku_from_name(regex, parts[-1])
            if sku is None:
                unplaced[path] = f"the name does not match the pattern {pattern}"
                continue
        elif len(parts) >= 2:
            sku = parts[0]
        else:
            unplaced[path] = "not in a SKU folder (put each SKU's photos in a folder named after it)"
            continue
        if problem := sku_error(sku):
            unplaced[path] = problem
            continue
        skus.setdefault(sku, []).append(path)
    return skus, unplaced


def printable(value: str, limit: int = 200) -> str:
    """A name as we may store and show it: control characters and lone surrogates become "?"."""
    return "".join("?" if unicodedata.category(c) in ("Cc", "Cs") else c for c in value[:limit])
