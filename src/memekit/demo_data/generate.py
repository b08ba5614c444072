"""Draws the demo memes shipped beside this file (run `python -m memekit.demo_data.generate` to redraw them).

They are synthetic pictures made here, in the image modes real memes come in (RGB, RGBA, palette, greyscale), so the
demo also exercises the processor's colour handling.
"""

import json
from pathlib import Path

from PIL import Image, ImageDraw


HERE = Path(__file__).parent
MEMES = [
    ("cat_keyboard.png", "RGB", (230, 200, 150), "me pretending to work when the boss walks by"),
    ("green_build.png", "RGBA", (90, 170, 90), "when the CI finally turns green on a friday"),
    ("palette_frog.png", "P", (40, 120, 200), "nobody: / absolutely nobody: / my code at 3 am"),
    ("grey_monday.png", "L", (128, 128, 128), "None"),
]


def draw_meme(mode: str, colour: tuple[int, int, int], caption: str) -> Image.Image:
    image = Image.new("RGB", (160, 120), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((45, 25, 115, 95), fill=(255 - colour[0], 255 - colour[1], 255 - colour[2]))
    draw.rectangle((0, 100, 160, 120), fill=(0, 0, 0))
    draw.text((4, 104), caption[:26], fill=(255, 255, 255))
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    elif mode != "RGB":
        image = image.convert(mode)
    return image


def main() -> None:
    with open(HERE / "memes.jsonl", "w", encoding="utf-8") as file:
        for name, mode, colour, caption in MEMES:
            draw_meme(mode, colour, caption).save(HERE / name)
            file.write(json.dumps({"image": name, "text": caption}) + "\n")


if __name__ == "__main__":
    main()
