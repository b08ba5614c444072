"""Draws the sample memes shipped beside this file (run `python -m memekit.demo_data.generate` to redraw them).

They come from the same generator as the demo benchmark (a picture of one dominant colour, a caption naming a
colour), saved in the image modes real memes come in (RGB, RGBA, palette, CMYK JPEG), so `memekit demo` shows the
trained model predicting on files, and the processor handling every mode.
"""

import json
from pathlib import Path

import numpy as np

from memekit.demo_data.synthetic import COLOURS, _picture


HERE = Path(__file__).parent
MEMES = [
    ("red_rgb.png", "RGB", "red", "when it is red", "match"),
    ("yellow_rgba.png", "RGBA", "yellow", "blue vibes only", "mismatch"),
    ("green_palette.png", "P", "green", "so green today", "match"),
    ("blue_cmyk.jpg", "CMYK", "blue", "me seeing red", "mismatch"),
]


def main() -> None:
    for old in HERE.glob("*.png"):
        old.unlink()
    rng = np.random.default_rng(7)
    with open(HERE / "memes.jsonl", "w", encoding="utf-8") as file:
        for name, mode, colour, caption, expected in MEMES:
            image = _picture(rng, COLOURS[colour])
            if mode == "RGBA":
                image = image.convert("RGBA")
                image.putalpha(200)
            elif mode != "RGB":
                image = image.convert(mode)
            image.save(HERE / name)
            file.write(json.dumps({"image": name, "text": caption, "expected": expected}) + "\n")


if __name__ == "__main__":
    main()
