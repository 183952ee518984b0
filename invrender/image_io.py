"""Image files: float32 RGB EXR through the OpenEXR library, sRGB PNG through Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenEXR
from PIL import Image

from invrender.errors import InvrenderError


def write_exr(path: str | Path, image: np.ndarray) -> Path:
    """Write (H, W, 3) linear RGB as float32 EXR with ZIP compression (row 0 = top)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.ascontiguousarray(np.asarray(image, dtype=np.float32))
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {rgb.shape}")
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"RGB": rgb}) as f:
        f.write(str(path))
    return path


def read_exr(path: str | Path) -> np.ndarray:
    """Read an RGB EXR as (H, W, 3) float32."""
    path = Path(path)
    if not path.is_file():
        raise InvrenderError(f"image file not found: {path}", hint="check the path")
    try:
        with OpenEXR.File(str(path)) as f:
            channels = f.channels()
            if "RGB" in channels:
                return np.asarray(channels["RGB"].pixels, dtype=np.float32)
            return np.stack([np.asarray(channels[c].pixels, dtype=np.float32)
                             for c in "RGB"], axis=-1)
    except (KeyError, RuntimeError, OSError) as exc:
        raise InvrenderError(f"cannot read EXR {path}: {exc}",
                             hint="expected an RGB OpenEXR image") from exc


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4))


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write linear RGB as an 8-bit sRGB PNG, clipped to [0, 1]."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb8 = np.round(linear_to_srgb(np.asarray(image, np.float64)) * 255).astype(np.uint8)
    Image.fromarray(rgb8, "RGB").save(path)
    return path


def read_image(path: str | Path) -> np.ndarray:
    """Read an EXR (linear) or an 8-bit image (sRGB, converted to linear) as (H, W, 3)."""
    path = Path(path)
    if path.suffix.lower() == ".exr":
        return read_exr(path)
    if not path.is_file():
        raise InvrenderError(f"image file not found: {path}", hint="check the path")
    with Image.open(path) as im:
        data = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
    return srgb_to_linear(data).astype(np.float32)
