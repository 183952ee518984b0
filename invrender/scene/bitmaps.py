"""Image files as texture data: EXR and Radiance HDR (linear) and 8/16-bit images (sRGB
unless ``raw``), read as Mitsuba's ``bitmap`` reads them. No Taichi here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from invrender.errors import SceneError


def read_bitmap(path: Path, raw: bool) -> np.ndarray:
    """(H, W, 3) float32 linear RGB, row 0 = top row of the file.

    EXR is linear already; 8- and 16-bit images are sRGB-encoded unless ``raw`` (data such
    as normal or roughness maps), as in Mitsuba's ``bitmap``.
    """
    if path.suffix.lower() == ".exr":
        return _read_exr(path)
    if path.suffix.lower() in (".hdr", ".rgbe", ".pic"):
        from invrender.scene.rgbe import read_rgbe

        return read_rgbe(path)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            pixels = _image_to_unit_rgb(image)
    except (OSError, UnidentifiedImageError) as err:
        raise SceneError(f"cannot read image: {err}", file=path) from err
    return pixels if raw else _srgb_to_linear(pixels)


def _image_to_unit_rgb(image) -> np.ndarray:
    """Pixel values scaled to [0, 1], grey replicated to RGB, alpha dropped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(image, np.float32) / 65535.0
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode == "F":
        return np.repeat(np.asarray(image, np.float32)[..., None], 3, axis=2)
    return np.asarray(image.convert("RGB"), np.float32) / 255.0


def _srgb_to_linear(values: np.ndarray) -> np.ndarray:
    return np.where(values <= 0.04045, values / 12.92,
                    ((values + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _read_exr(path: Path) -> np.ndarray:
    import OpenEXR

    try:
        channels = OpenEXR.File(str(path)).channels()
    except Exception as err:  # OpenEXR raises RuntimeError with no detail
        raise SceneError(f"cannot read EXR image: {err}", file=path) from err
    for key in ("RGB", "RGBA"):
        if key in channels:
            return np.ascontiguousarray(channels[key].pixels[..., :3], np.float32)
    if all(c in channels for c in "RGB"):
        return np.stack([channels[c].pixels for c in "RGB"], axis=-1).astype(np.float32)
    if "Y" in channels:
        return np.repeat(channels["Y"].pixels[..., None], 3, axis=2).astype(np.float32)
    raise SceneError(f"EXR image has no RGB or Y channels (has {', '.join(channels)})",
                     file=path)
