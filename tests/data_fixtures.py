"""Small generated files in the layouts of the benchmark releases (invented texts, random pixels)."""

import io
from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: Path, seed: int, size: tuple[int, int] = (24, 20)) -> Path:
    """A small random image; the format follows the suffix (.png, .jpg)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def write_truncated_jpeg(path: Path, seed: int = 0) -> Path:
    """A JPEG cut in the middle of its data: it opens, but does not decode."""
    buffer = io.BytesIO()
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def write_large_image(path: Path, size: tuple[int, int] = (400, 300)) -> Path:
    """An image larger than the test's decompression-bomb limit (tests lower the limit rather than build a bomb)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size).save(path)
    return path
