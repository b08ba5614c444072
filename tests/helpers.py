"""Shared test helpers (fixtures live in conftest.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image


LABELS = ["Benign Meme", "Harmful Meme"]


def random_image(seed: int, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    return image if mode == "RGB" else image.convert(mode)


def run_fresh_python(code: str, cwd: Path, hf_home: Path) -> dict:
    """Run `code` in a new interpreter with an empty HF cache and the Hub offline; it prints one JSON line last."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update({"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    env.pop("HF_MODULES_CACHE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])
