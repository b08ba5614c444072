import math

import numpy as np
import pytest
import torch
from helpers import random_image
from PIL import Image, ImageOps
from reference_official import official_token_ids
from transformers import AutoProcessor

from memekit import MemeProcessor
from memekit.tiny import tiny_meme_processor


MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def normalise(rgb: Image.Image) -> torch.Tensor:
    array = np.asarray(rgb, dtype=np.float32) / 255.0
    return torch.from_numpy(((array - MEAN) / STD).transpose(2, 0, 1))


def official_pixels(image: Image.Image, size: int = 32) -> torch.Tensor:
    """The official MemeCLIP pipeline: convert('RGB'), squash to size x size (bicubic), then CLIP normalisation."""
    return normalise(image.convert("RGB").resize((size, size), Image.BICUBIC))


def images_in_every_mode() -> dict[str, Image.Image]:
    base = random_image(11, size=(50, 36))
    rgba = base.convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.array([0, 255], dtype=np.uint8), (36, 25))))  # alpha 0 on half
    palette = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 3
    sixteen_bit = Image.fromarray((np.asarray(base.convert("L"), dtype=np.uint16) * 200))
    return {
        "RGB": base,
        "RGBA": rgba,
        "P": palette,
        "L": base.convert("L"),
        "LA": base.convert("LA"),
        "CMYK": base.convert("CMYK"),
        "I;16": sixteen_bit,
        "1": base.convert("1"),
    }


@pytest.mark.parametrize("mode", list(images_in_every_mode()))
def test_memeclip_mode_reproduces_the_official_pixels(processor, mode):
    image = images_in_every_mode()[mode]
    assert image.mode == mode
    pixels = processor(images=[image])["pixel_values"]
    assert pixels.shape == (1, 3, 32, 32)
    torch.testing.assert_close(pixels[0], official_pixels(image), rtol=0, atol=1e-5)


def test_clip_mode_resizes_the_shortest_edge_and_centre_crops():
    processor = tiny_meme_processor(image_mode="clip")
    image = random_image(2, size=(48, 40))
    pixels = processor(images=image)["pixel_values"][0]
    resized = image.resize((38, 32), Image.BICUBIC)  # shortest edge 40 -> 32, the other 48 -> 38
    expected = normalise(resized.crop((3, 0, 35, 32)))
    torch.testing.assert_close(pixels, expected, rtol=0, atol=1e-5)
    assert not torch.allclose(pixels, tiny_meme_processor()(images=image)["pixel_values"][0])


def test_numpy_arrays_and_paths_give_the_same_pixels_as_pil(processor, tmp_path):
    image = random_image(4)
    path = tmp_path / "meme.png"
    image.save(path)
    expected = processor(images=[image])["pixel_values"]
    torch.testing.assert_close(processor(images=[np.asarray(image)])["pixel_values"], expected, rtol=0, atol=0)
    torch.testing.assert_close(processor(images=[str(path)])["pixel_values"], expected, rtol=0, atol=0)
    torch.testing.assert_close(processor(images=[path])["pixel_values"], expected, rtol=0, atol=0)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation(orientation, tmp_path):
    image = random_image(5, size=(48, 32))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif.tobytes(), quality=95)
    rotated = Image.open(path)
    upright = ImageOps.exif_transpose(rotated)

    honouring = tiny_meme_processor(image_mode="clip", exif_transpose=True)
    ignoring = tiny_meme_processor(image_mode="clip", exif_transpose=False)
    expected_upright = ignoring(images=upright)["pixel_values"]
    torch.testing.assert_close(honouring(images=rotated)["pixel_values"], expected_upright, rtol=0, atol=0)
    # The official pipeline ignores EXIF: the default keeps the stored orientation.
    as_stored = ignoring(images=rotated)["pixel_values"]
    assert not torch.allclose(as_stored, expected_upright)
    # Paths are opened with `PIL.Image.open`, as the original code does: the same rule as for PIL images.
    torch.testing.assert_close(ignoring(images=str(path))["pixel_values"], as_stored, rtol=0, atol=0)
    torch.testing.assert_close(honouring(images=str(path))["pixel_values"], expected_upright, rtol=0, atol=0)


def test_missing_texts_become_null(processor):
    null = processor(text=["null"])["input_ids"][0].tolist()
    for missing in [None, float("nan"), "None"]:
        assert processor(text=[missing])["input_ids"][0].tolist() == null
    # Only the exact string "None" is the official missing-text marker.
    assert processor(text=["none here"])["input_ids"][0].tolist() != null


def test_numbers_html_entities_and_whitespace(processor):
    def ids(text):
        return processor(text=[text])["input_ids"][0].tolist()

    assert ids(2024) == ids("2024")
    assert ids(3.5) == ids("3.5")
    assert ids("cats &amp;amp; dogs") == ids("cats & dogs")
    assert ids("  cats \n\t dogs ") == ids("cats dogs")
    assert ids("CATS") == ids("cats")


def test_cleaning_and_missing_markers_can_be_switched_off():
    plain = tiny_meme_processor(text_cleaning="none", missing_markers=[], missing_text="")
    assert plain.clean_text("None") == "None"
    assert plain.clean_text("cats &amp; dogs") == "cats &amp; dogs"
    assert plain.clean_text(None) == ""
    assert plain(text=[None])["input_ids"][0].tolist() == plain(text=[""])["input_ids"][0].tolist()


def test_long_texts_are_truncated_keeping_the_end_token(processor):
    text = "a long meme caption " * 30
    tokens = processor(text=[text, "short"])
    ids = tokens["input_ids"]
    assert ids.shape == (2, 77)
    assert ids[0, -1].item() == processor.tokenizer.eos_token_id
    assert tokens["attention_mask"][0].sum() == 77
    official = official_token_ids(processor.tokenizer, [processor.clean_text(text), "short"])
    torch.testing.assert_close(ids[0], official[0])
    length = int(tokens["attention_mask"][1].sum())
    assert ids[1, :length].tolist() == official[1, :length].tolist()


@pytest.mark.parametrize("bad", [b"bytes", ["a", "list"], True, {"text": "x"}])
def test_texts_of_other_types_are_rejected(processor, bad):
    with pytest.raises(TypeError, match="strings"):
        processor(text=[bad])


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"images": [random_image(0)], "text": ["a", "b"]}, ValueError, "one text per image"),
        ({}, ValueError, "images"),
        ({"images": [torch.zeros(3, 8, 8)]}, TypeError, "images\\[0\\]"),
        ({"images": ["/no/such/meme.png"]}, FileNotFoundError, "meme.png"),
        ({"text": ["a"], "padding": "max_length"}, TypeError, "padding"),
    ],
)
def test_bad_calls_raise_clear_errors(processor, kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        processor(**kwargs)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"image_mode": "stretch"}, "image_mode"),
        ({"max_length": 1}, "max_length"),
        ({"text_cleaning": "ftfy"}, "text_cleaning"),
    ],
)
def test_invalid_processor_settings_are_rejected(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        tiny_meme_processor(**kwargs)


def test_round_trip_through_save_pretrained(tmp_path):
    processor = tiny_meme_processor(
        image_mode="clip",
        exif_transpose=True,
        max_length=40,
        missing_text="[none]",
        missing_markers=["N/A"],
        text_cleaning="none",
    )
    processor.save_pretrained(tmp_path)
    reloaded = AutoProcessor.from_pretrained(tmp_path)
    assert isinstance(reloaded, MemeProcessor)
    settings = ("image_mode", "exif_transpose", "max_length", "missing_text", "missing_markers", "text_cleaning")
    assert [getattr(reloaded, name) for name in settings] == ["clip", True, 40, "[none]", ["N/A"], "none"]
    images = [random_image(seed, size=(60, 44)) for seed in range(2)]
    texts = ["first meme", None, "N/A"]
    images.append(random_image(3))
    expected, actual = processor(images=images, text=texts), reloaded(images=images, text=texts)
    assert sorted(actual) == ["attention_mask", "input_ids", "pixel_values"]
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], rtol=0, atol=0)


def test_clean_text_is_idempotent(processor):
    for text in ["a  b", "&amp;", "None", None, math.pi]:
        once = processor.clean_text(text)
        assert processor.clean_text(once) == once
