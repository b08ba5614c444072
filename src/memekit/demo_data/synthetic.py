"""The demo benchmark's release: pictures of one dominant colour with a caption naming a colour (see
`dataset_scripts/demo_memes.py`). Generated on demand, deterministic for a seed."""

import csv
import random
from pathlib import Path

import numpy as np
from PIL import Image


COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 70, 220), "yellow": (230, 210, 40)}
CAPTIONS = ("when it is {}", "{} vibes only", "me seeing {}", "so {} today", "{} is the answer")
SPLIT_SIZES = {"train": 480, "validation": 120, "test": 120}


def _picture(rng: np.random.Generator, colour: tuple[int, int, int]) -> Image.Image:
    height, width = 40, 48
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (height, width, 3)), 0, 255)
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    pixels[top : top + height // 3, left : left + width // 3] = rng.integers(0, 256, 3)  # a distracting patch
    return Image.fromarray(pixels.astype(np.uint8))


def write_demo_release(folder: str | Path, seed: int = 0, split_sizes: dict[str, int] = SPLIT_SIZES) -> Path:
    """Write `memes.csv` and `images/` of the demo benchmark into `folder`. Exactly half of the memes of each split
    match, so that chance (and the majority class) is 0.5."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    choice = random.Random(seed)
    names = list(COLOURS)
    rows, index = [], 0
    for split, size in split_sizes.items():
        matches = [True] * (size // 2) + [False] * (size - size // 2)
        choice.shuffle(matches)
        for match in matches:
            picture = choice.choice(names)
            said = picture if match else choice.choice([name for name in names if name != picture])
            name = f"meme_{index:04d}.png"
            _picture(rng, COLOURS[picture]).save(folder / "images" / name)
            rows.append((name, choice.choice(CAPTIONS).format(said), split, "match" if match else "mismatch"))
            index += 1
    with open(folder / "memes.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(("name", "text", "split", "label"))
        writer.writerows(rows)
    return folder
