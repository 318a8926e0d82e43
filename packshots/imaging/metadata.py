"""Stripping personal metadata from an original photo without touching its pixels.

A phone photo carries GPS position, camera make, model and serial, dates, XMP, IPTC and comments. We copy the
file segment by segment (JPEG markers, PNG chunks, WebP RIFF chunks), dropping every metadata block; the
compressed pixel data is copied byte for byte, so decoding gives the very same pixels. Kept: what changes how
the pixels look — the colour profile (ICC), JFIF, Adobe's colour transform, PNG's gamma/transparency/animation
chunks — and the EXIF orientation, rewritten as a minimal EXIF block holding only that tag. Anything after the
image's end (JPEG trailers such as extra MPF pictures with their own EXIF) is dropped too.

Streams from file object to file object in 64 KB pieces: no upload is held whole in memory.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

from PIL import Image

from .decode import ImageError, heif_to_jpeg, is_heif

_CHUNK = 1 << 16
_CORRUPT = "This image is truncated or corrupt"
_ORIENTATION_TAG = 0x0112

# JPEG: markers without a length field, and the APPn blocks worth keeping (by their identifying prefix).
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
_SOS, _EOI = 0xDA, 0xD9
_KEPT_APP = {0xE0: (b"JFIF\x00",), 0xE2: (b"ICC_PROFILE\x00",), 0xEE: (b"Adobe",)}

# PNG: ancillary chunks that change how pixels look (or animate); every other ancillary chunk is metadata
# (tEXt, zTXt, iTXt, eXIf, tIME, private chunks). Critical chunks (upper-case first letter) are always kept.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEPT = {
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"cICP", b"mDCv", b"cLLI",
    b"hIST", b"sPLT", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip

# WebP: image, alpha, animation and colour-profile chunks; EXIF and XMP go, and so does anything unknown.
_WEBP_KEPT = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
_VP8X_XMP, _VP8X_EXIF = 0x04, 0x08


def strip_metadata(src: BinaryIO, dst: BinaryIO, *, format: str, orientation: int = 1) -> None:
    """Copy the image in src to dst without personal metadata; pixels stay byte-identical.

    format is Pillow's name ("JPEG", "PNG", "WEBP"); orientation (1–8) is written back as the only EXIF tag
    when it is not 1, so the photo still displays upright. dst must be seekable for WebP (the RIFF size is
    written last). Raises ImageError when the file's structure is broken.
    """
    if format == "JPEG" and is_heif(src):  # decode.probe describes a HEIC photo as the JPEG it is stored as
        heif_to_jpeg(src, dst)
        return
    src.seek(0)
    reader = _Reader(src)
    exif = _minimal_exif(orientation)
    if format == "JPEG":
        _strip_jpeg(reader, dst, exif)
    elif format == "PNG":
        _strip_png(reader, dst, exif)
    elif format == "WEBP":
        _strip_webp(reader, dst, exif)
    else:
        raise ImageError(f"Unsupported image format {format}: use JPEG, PNG or WebP")


def _minimal_exif(orientation: int) -> bytes:
    """b"Exif\\0\\0" + a TIFF block holding only the orientation, or b"" when the photo is upright."""
    if orientation not in range(2, 9):
        return b""
    exif = Image.Exif()
    exif[_ORIENTATION_TAG] = orientation
    return exif.tobytes()


class _Reader:
    """Buffered reads from a file object, with streaming copies for large blocks."""

    def __init__(self, f: BinaryIO):
        self.f = f
        self.buf = b""
        self.pos = 0

    def _fill(self) -> bool:
        more = self.f.read(_CHUNK)
        if not more:
            return False
        self.buf = self.buf[self.pos :] + more
        self.pos = 0
        return True

    def read(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n:
            if not self._fill():
                raise ImageError(_CORRUPT)
        data = self.buf[self.pos : self.pos + n]
        self.pos += n
        return data

    def at_end(self) -> bool:
        return self.pos >= len(self.buf) and not self._fill()

    def copy(self, n: int, dst: BinaryIO | None) -> None:
        """Copy n bytes to dst (or skip them when dst is None) without holding them all."""
        while n:
            if self.pos >= len(self.buf) and not self._fill():
                raise ImageError(_CORRUPT)
            piece = self.buf[self.pos : self.pos + n]
            self.pos += len(piece)
            n -= len(piece)
            if dst is not None:
                dst.write(piece)

    def copy_entropy(self, dst: BinaryIO) -> int | None:
        """Copy JPEG entropy-coded data up to the next real marker; return it (None at the end of the file).

        Inside the data 0xFF is followed by 0x00 (a stuffed byte), a restart marker or another 0xFF (fill).
        """
        start = self.pos
        while True:
            i = self.buf.find(b"\xff", self.pos)
            if i < 0 or i + 1 >= len(self.buf):
                end = len(self.buf) if i < 0 else i  # keep a trailing 0xFF until its partner arrives
                dst.write(self.buf[start:end])
                self.buf, self.pos, start = self.buf[end:], 0, 0
                if not self._fill():
                    dst.write(self.buf)  # a file cut short after its pixels: copied as it is
                    self.buf = b""
                    return None
                continue
            follower = self.buf[i + 1]
            if follower == 0x00 or 0xD0 <= follower <= 0xD7:
                self.pos = i + 2
            elif follower == 0xFF:
                self.pos = i + 1
            else:
                dst.write(self.buf[start:i])
                self.pos = i + 2
                return follower


def _jpeg_keeps(marker: int, payload: bytes) -> bool:
    if marker == 0xFE:  # COM
        return False
    if 0xE0 <= marker <= 0xEF:  # APPn: Exif/XMP (APP1), MPF/FlashPix (APP2), IPTC (APP13), vendors' blocks
        return payload.startswith(_KEPT_APP.get(marker, ()))
    return True


def _strip_jpeg(reader: _Reader, dst: BinaryIO, exif: bytes) -> None:
    if reader.read(2) != b"\xff\xd8":
        raise ImageError(_CORRUPT)
    dst.write(b"\xff\xd8")
    # The orientation goes where EXIF belongs: after SOI and JFIF, before the tables.
    pending = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif if exif else b""
    in_scans = False
    while True:
        if in_scans:
            marker = reader.copy_entropy(dst)
            if marker is None:
                return
        else:
            byte = reader.read(1)[0]
            if byte != 0xFF:
                continue  # junk between segments, which decoders skip as well
            marker = reader.read(1)[0]
            if marker == 0xFF:
                reader.pos -= 1  # fill byte: the marker follows
                continue
        if marker != 0xE0 and pending:
            dst.write(pending)
            pending = b""
        if marker == _EOI:
            dst.write(b"\xff\xd9")
            return  # whatever follows the image (trailers, appended pictures) is not kept
        if marker in _STANDALONE:
            dst.write(bytes((0xFF, marker)))
            continue
        (length,) = struct.unpack(">H", reader.read(2))
        if length < 2:
            raise ImageError(_CORRUPT)
        payload = reader.read(length - 2)
        if _jpeg_keeps(marker, payload):
            dst.write(bytes((0xFF, marker)) + struct.pack(">H", length) + payload)
        in_scans = in_scans or marker == _SOS


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _strip_png(reader: _Reader, dst: BinaryIO, exif: bytes) -> None:
    if reader.read(8) != _PNG_SIGNATURE:
        raise ImageError(_CORRUPT)
    dst.write(_PNG_SIGNATURE)
    while True:
        head = reader.read(8)
        length, kind = struct.unpack(">I4s", head)
        if length > 0x7FFFFFFF:
            raise ImageError(_CORRUPT)
        critical = not kind[0] & 0x20
        if critical or kind in _PNG_KEPT:
            dst.write(head)
            reader.copy(length + 4, dst)  # data and CRC, as they were
        else:
            reader.copy(length + 4, None)
        if kind == b"IHDR" and exif:
            dst.write(_png_chunk(b"eXIf", exif[6:]))  # PNG's eXIf holds the TIFF block without "Exif\0\0"
        if kind == b"IEND":
            return


def _strip_webp(reader: _Reader, dst: BinaryIO, exif: bytes) -> None:
    riff, size, webp = struct.unpack("<4sI4s", reader.read(12))
    if riff != b"RIFF" or webp != b"WEBP":
        raise ImageError(_CORRUPT)
    start = dst.tell()
    dst.write(b"RIFF\x00\x00\x00\x00WEBP")
    written, remaining, extended = 4, size - 4, False
    while remaining >= 8:
        kind, length = struct.unpack("<4sI", reader.read(8))
        padded = length + (length & 1)
        remaining -= 8 + padded
        if kind == b"VP8X":
            data = bytearray(reader.read(padded))
            if not data:
                raise ImageError(_CORRUPT)
            data[0] = data[0] & ~(_VP8X_XMP | _VP8X_EXIF) | (_VP8X_EXIF if exif else 0)
            dst.write(struct.pack("<4sI", kind, length) + data)
            written += 8 + padded
            extended = True
        elif kind in _WEBP_KEPT:
            dst.write(struct.pack("<4sI", kind, length))
            reader.copy(padded, dst)
            written += 8 + padded
        else:
            reader.copy(padded, None)
    if exif and extended:
        data = exif[6:]
        dst.write(struct.pack("<4sI", b"EXIF", len(data)) + data + b"\x00" * (len(data) & 1))
        written += 8 + len(data) + (len(data) & 1)
    end = dst.tell()
    dst.seek(start + 4)
    dst.write(struct.pack("<I", written))
    dst.seek(end)
