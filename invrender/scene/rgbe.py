"""Radiance ``.hdr`` (RGBE) images, decoded as Mitsuba's ``Bitmap::read_rgbe``: mantissas
times 2^(e - 136), flat or run-length-encoded scanlines, top row first. No Taichi here."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from invrender.errors import SceneError

_RESOLUTION = re.compile(rb"-Y (\d+) \+X (\d+)")


def read_rgbe(path: Path) -> np.ndarray:
    """(H, W, 3) float32 linear RGB."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SceneError(f"cannot read HDR image: {err.strerror}", file=path) from err
    if not (data.startswith(b"#?RADIANCE") or data.startswith(b"#?RGBE")):
        raise SceneError("not a Radiance HDR image (no '#?RADIANCE' header)", file=path)
    end = data.find(b"\n\n")
    if end < 0:
        raise SceneError("malformed HDR header (no blank line after it)", file=path)
    if b"FORMAT=32-bit_rle_xyze" in data[:end]:
        raise SceneError("XYZE HDR images are not supported", file=path,
                         hint="convert the image to RGBE or EXR")
    line_end = data.find(b"\n", end + 2)
    match = _RESOLUTION.fullmatch(data[end + 2:line_end].strip()) if line_end > 0 else None
    if match is None:
        raise SceneError("unsupported HDR resolution line (expected '-Y H +X W')", file=path)
    height, width = int(match.group(1)), int(match.group(2))
    if height == 0 or width == 0:
        raise SceneError(f"HDR image of zero size ({width} x {height})", file=path)
    try:
        rgbe = _scanlines(np.frombuffer(data, np.uint8, offset=line_end + 1), width, height)
    except (IndexError, ValueError) as err:
        raise SceneError(f"truncated or corrupt HDR pixel data ({err})", file=path) from None
    scale = np.where(rgbe[..., 3] > 0,
                     np.ldexp(1.0, rgbe[..., 3].astype(np.int32) - 136), 0.0)
    return (rgbe[..., :3] * scale[..., None]).astype(np.float32)


def _scanlines(buf: np.ndarray, width: int, height: int) -> np.ndarray:
    out = np.empty((height, width, 4), np.uint8)
    pos = 0
    for y in range(height):
        head = buf[pos:pos + 4]
        if len(head) < 4:
            raise ValueError(f"row {y} missing")
        rle = (8 <= width < 0x8000 and head[0] == 2 and head[1] == 2 and head[2] < 128
               and (int(head[2]) << 8 | int(head[3])) == width)
        if not rle:  # flat pixels from here to the end
            flat = buf[pos:pos + 4 * width * (height - y)]
            if len(flat) < 4 * width * (height - y):
                raise ValueError(f"row {y} short")
            out[y:] = flat.reshape(height - y, width, 4)
            return out
        pos += 4
        for c in range(4):
            x = 0
            while x < width:
                count = int(buf[pos])
                pos += 1
                if count > 128:  # a run
                    count -= 128
                    if x + count > width:
                        raise ValueError(f"run past the end of row {y}")
                    out[y, x:x + count, c] = buf[pos]
                    pos += 1
                else:
                    if count == 0 or x + count > width:
                        raise ValueError(f"bad count in row {y}")
                    out[y, x:x + count, c] = buf[pos:pos + count]
                    pos += count
                x += count
    return out
