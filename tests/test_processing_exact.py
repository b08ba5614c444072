"""`MemeProcessor` gives what the original pipelines give: images opened as the original code opens them (paths,
PIL images and prepared-dataset cells alike), and token ids equal to OpenAI's `clip.tokenize` for the MemeCLIP
preset (checked against the independent encoder of `openai_clip_reference`)."""

import logging
import os
import re
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from helpers import random_image
from openai_clip_reference import END, START, OpenAIEncoder, openai_clean, spell
from PIL import Image, ImageOps
from test_processing_meme import images_in_every_mode, official_pixels
from transformers import CLIPTokenizer

import memekit.processing.processing_meme as processing_meme
from memekit.tiny import tiny_clip_tokenizer, tiny_image_processor, tiny_meme_processor


PRESETS = ["memeclip", "cdglt"]
EXIF_ORIENTATION = 0x0112


def write_exif_rotated_jpeg(path: Path) -> Path:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    random_image(5, size=(48, 32)).save(path, exif=exif.tobytes(), quality=95)
    return path


def write_image_files(folder: Path) -> dict[str, Path]:
    """One file per case: the EXIF-6 JPEG and the unusual modes (lossless PNG, CMYK as JPEG)."""
    files = {"exif6": write_exif_rotated_jpeg(folder / "exif6.jpg")}
    for mode, image in images_in_every_mode().items():
        if mode == "RGB":
            continue
        path = folder / f"mode_{mode.replace(';', '_')}.{'jpg' if mode == 'CMYK' else 'png'}"
        image.save(path)
        files[mode] = path
    return files


@pytest.fixture
def image_files(tmp_path):
    files = write_image_files(tmp_path)
    # The files reopen in the mode they were written in (the palette one with its transparent index).
    for mode, path in files.items():
        with Image.open(path) as image:
            assert image.mode == ("RGB" if mode == "exif6" else mode)
            if mode == "P":
                assert image.info["transparency"] == 3
            if mode == "exif6":
                assert image.getexif()[EXIF_ORIENTATION] == 6
    return files


CASES = ["exif6", "RGBA", "P", "LA", "I;16", "CMYK", "1"]


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("case", CASES)
def test_paths_pil_images_and_dataset_cells_give_identical_pixels(image_files, case, preset):
    processor = tiny_meme_processor(preset)
    path = image_files[case]
    data = path.read_bytes()
    expected = processor(images=[str(path)])["pixel_values"]
    forms = {
        "PathLike": path,
        "PIL": Image.open(path),
        "cell": {"bytes": data, "path": path.name},
        "cell without bytes": {"bytes": None, "path": str(path)},
        "bytes": data,
    }
    for form, image in forms.items():
        assert torch.equal(processor(images=[image])["pixel_values"], expected), form


@pytest.mark.parametrize("case", CASES)
def test_memeclip_preset_reproduces_the_original_pipeline_on_files(image_files, case):
    """The original: `Image.open(p).convert("RGB").resize((224, 224), BICUBIC)` (32 here), CLIP normalisation."""
    processor = tiny_meme_processor("memeclip")
    path = image_files[case]
    with Image.open(path) as original:
        expected = official_pixels(original)
    pixels = processor(images=[path])["pixel_values"][0]
    torch.testing.assert_close(pixels, expected, rtol=0, atol=1e-5)
    if case == "exif6":  # the test could fail: the upright image differs
        with Image.open(path) as original:
            upright = official_pixels(ImageOps.exif_transpose(original))
        assert not torch.allclose(pixels, upright, atol=1e-2)


@pytest.mark.parametrize("preset", PRESETS)
def test_exif_orientation_is_applied_to_files_only_when_asked(image_files, preset):
    path = image_files["exif6"]
    with Image.open(path) as rotated:
        upright = ImageOps.exif_transpose(rotated)
    honouring = tiny_meme_processor(preset, exif_transpose=True)
    ignoring = tiny_meme_processor(preset)
    expected = ignoring(images=[upright])["pixel_values"]
    for image in [path, path.read_bytes(), {"bytes": path.read_bytes(), "path": path.name}, Image.open(path)]:
        assert torch.equal(honouring(images=[image])["pixel_values"], expected)
        assert not torch.equal(ignoring(images=[image])["pixel_values"], expected)


def test_prepared_dataset_cells_read_without_decoding_match_the_files(image_files, tmp_path):
    path = image_files["exif6"]
    features = datasets.Features({"image": datasets.Image()})
    dataset = datasets.Dataset.from_dict({"image": [{"bytes": path.read_bytes(), "path": path.name}]}, features)
    parquet = tmp_path / "train.parquet"
    dataset.to_parquet(str(parquet))
    loaded = datasets.Dataset.from_parquet(str(parquet), cache_dir=str(tmp_path / "cache"))
    assert loaded.features["image"] == datasets.Image()
    cell = loaded.cast_column("image", datasets.Image(decode=False))[0]["image"]
    assert cell == {"bytes": path.read_bytes(), "path": path.name}

    for preset in PRESETS:
        processor = tiny_meme_processor(preset)
        expected = processor(images=[path])["pixel_values"]
        assert torch.equal(processor(images=[cell])["pixel_values"], expected)
        # `datasets` decodes with the EXIF orientation applied: the decoded column would give other pixels.
        decoded = loaded[0]["image"]
        assert decoded.size == (32, 48)
        assert not torch.allclose(processor(images=[decoded])["pixel_values"], expected, atol=1e-2)


def truncated_jpeg(folder: Path) -> Path:
    path = folder / "cut.jpg"
    random_image(6, size=(64, 64)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def random_bytes_file(folder: Path) -> Path:
    path = folder / "noise.jpg"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    return path


@pytest.mark.parametrize("make", [truncated_jpeg, random_bytes_file])
def test_undecodable_files_name_the_index_and_the_file(make, tmp_path):
    processor = tiny_meme_processor()
    path = make(tmp_path)
    good = random_image(1)
    for bad in [str(path), {"bytes": path.read_bytes(), "path": path.name}]:
        with pytest.raises(ValueError, match=rf"^`images\[1\]` \('[^']*{path.name}'\) cannot be decoded \(.+\)"):
            processor(images=[good, bad])
    with pytest.raises(ValueError, match=r"^`images\[0\]` cannot be decoded"):
        processor(images=[path.read_bytes()])


def test_decompression_bombs_are_rejected_before_decoding(tmp_path, monkeypatch):
    processor = tiny_meme_processor()
    path = tmp_path / "bomb.png"
    random_image(7, size=(40, 30)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40 * 30 - 1)
    message = f"`images[1]` ({str(path)!r}) is 40x30 pixels, over the decompression-bomb limit of 1199 pixels"
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        processor(images=[random_image(1), path])
    with pytest.raises(ValueError, match=r"^`images\[0\]` \('bomb.png'\) is 40x30 pixels, over the decomp"):
        processor(images=[{"bytes": path.read_bytes(), "path": "bomb.png"}])
    # More than twice the limit: Pillow itself refuses to open it.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ValueError, match=r"^`images\[0\]` \('bomb.png'\) looks like a decompression bomb"):
        processor(images=[{"bytes": path.read_bytes(), "path": "bomb.png"}])
    # PIL images are the caller's: they were opened already and are not checked again.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert processor(images=[Image.open(path)])["pixel_values"].shape == (1, 3, 32, 32)


def test_missing_files_name_the_index_and_the_file(tmp_path):
    processor = tiny_meme_processor()
    missing = tmp_path / "gone.png"
    for bad in [missing, str(missing), {"bytes": None, "path": str(missing)}]:
        with pytest.raises(FileNotFoundError, match=r"`images\[1\]` \('.*gone.png'\)"):
            processor(images=[random_image(1), bad])
    with pytest.raises(ValueError, match=r"`images\[0\]`.*neither"):
        processor(images=[{"bytes": None, "path": None}])


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count open files")
def test_files_are_closed(image_files, tmp_path):
    processor = tiny_meme_processor()
    bad = truncated_jpeg(tmp_path)

    def open_files():
        return len(os.listdir("/proc/self/fd"))

    before = open_files()
    for _ in range(3):
        processor(images=[str(path) for path in image_files.values()])
        with pytest.raises(ValueError):
            processor(images=[bad])
    assert open_files() == before


RAMS_HORN = "\ua7cb"
# Texts: each raw text and, for the key cases, its cleaned form written out by hand (what `clip.tokenize` reads).
CLEANED = {
    "doesnâ€™t": "doesn't",  # mojibake of a curly apostrophe, repaired by ftfy then uncurled
    "ＡＢＣ": "abc",  # fullwidth letters
    "ﬁne": "fine",  # the fi ligature
    "“quoted” ‘x’": "\"quoted\" 'x'",
    "cats &amp;amp; dogs": "cats & dogs",  # double-escaped HTML
    "i &amp;lt;3 memes": "i <3 memes",
    "ΟΔΟΣ ΟΔΟΣ.": "οδος οδος.",  # word-final capital sigma becomes ς
    "a\u00a0b\u3000c": "a b c",  # NBSP and ideographic space are whitespace
    "a\u200bb": "a\u200bb",  # a zero-width space is not
    "  The   THING\n\tis  ": "the thing is",
}
OTHER_TEXTS = [
    "when the meme 😂🔥 hits",
    "日本語のミーム",
    "<b>e&#769;</b>",  # ftfy leaves entities alone next to "<": the unescaped accent stays decomposed
    "thinking fine things fit in",
    "it's THE thing they'll do, we'd've",
    "1234 + 56 = 1290!!!",
    RAMS_HORN,  # a capital letter of Unicode 16: Python < 3.14 does not lower-case it, the Rust library does
    "",
    "   ",
    "a" * 75,
    "a" * 76,
    "the " * 40,
]
TEXTS = list(CLEANED) + OTHER_TEXTS


@pytest.mark.parametrize("text, cleaned", list(CLEANED.items()))
def test_openai_cleaning_written_out(text, cleaned):
    assert openai_clean(text) == cleaned
    assert tiny_meme_processor("memeclip").clean_text(text) == cleaned


def tiny_vocab() -> dict[str, int]:
    return tiny_clip_tokenizer().get_vocab()


# Merges over the byte-level alphabet; "fi" ranks before "in", so "fine" becomes "fi" "n" "e</w>".
MERGE_WORDS = [("t", "h"), ("th", "e</w>"), ("f", "i"), ("i", "n"), ("in", "g</w>"), ("'", "t</w>")]


def merges() -> list[tuple[str, str]]:
    # Greek omicron (2 bytes) and final sigma at a word end (2 bytes + end-of-word marker).
    omicron, final_sigma = spell("ο"), spell("ς")
    return [*MERGE_WORDS, (omicron[0], omicron[1]), (final_sigma[0], final_sigma[1] + "</w>")]


def merging_vocab() -> dict[str, int]:
    """The tiny vocabulary plus the merged tokens, the start and end tokens kept last (as in OpenAI's)."""
    vocab = tiny_vocab()
    tokens = [token for token in sorted(vocab, key=vocab.get) if token not in (START, END)]
    tokens += [first + second for first, second in merges()] + [START, END]
    return {token: index for index, token in enumerate(tokens)}


def merging_processor(**kwargs):
    tokenizer = CLIPTokenizer(
        vocab=merging_vocab(),
        merges=merges(),
        bos_token=START,
        eos_token=END,
        pad_token=END,
        unk_token=END,
        model_max_length=77,
    )
    settings = {**processing_meme.PRESETS["memeclip"], **kwargs}
    return processing_meme.MemeProcessor(image_processor=tiny_image_processor(), tokenizer=tokenizer, **settings)


def check_against_openai(processor, encoder, texts):
    tokens = processor(text=texts)
    for row, (text, ids, mask) in enumerate(zip(texts, tokens["input_ids"], tokens["attention_mask"], strict=True)):
        expected = encoder.tokenize(text)
        length = int(mask.sum())
        assert ids[:length].tolist() == expected, (row, text)
        assert set(ids[length:].tolist()) <= {processor.tokenizer.pad_token_id}


def test_token_ids_match_openai_without_merges():
    check_against_openai(tiny_meme_processor("memeclip"), OpenAIEncoder(tiny_vocab(), []), TEXTS)


def test_token_ids_match_openai_with_merges():
    processor = merging_processor()
    encoder = OpenAIEncoder(merging_vocab(), merges())
    check_against_openai(processor, encoder, TEXTS)
    # The merges are used: "the", "fi", "in", "ing", "'t", "ο" and a final "ς" each are one piece.
    vocab = merging_vocab()
    pieces = {
        "the thing fine": ["the</w>", "th", "ing</w>", "fi", "n", "e</w>"],
        "ΟΔΟΣ": [spell("ο"), *spell("δ"), spell("ο"), spell("ς") + "</w>"],
        "doesn’t": ["d", "o", "e", "s", "n</w>", "'t</w>"],
    }
    for text, expected in pieces.items():
        assert encoder.encode(text) == [vocab[piece] for piece in expected], text


def test_the_tokenizer_alone_differs_from_openai():
    """The reasons for the cleaning: transformers' CLIP tokenizer on raw text, and its normaliser on cleaned text."""
    processor = merging_processor()
    encoder = OpenAIEncoder(merging_vocab(), merges())
    tokenizer = processor.tokenizer
    for text in ["doesnâ€™t", "ＡＢＣ", "ﬁne", "cats &amp;amp; dogs", "ΟΔΟΣ ΟΔΟΣ."]:
        assert tokenizer(text)["input_ids"] != encoder.tokenize(text), text
    # Its normaliser (NFC, then lower-casing with the Unicode tables of the Rust library) changes cleaned texts too.
    cleaned = ["<b>e&#769;</b>"] + ([RAMS_HORN] if RAMS_HORN.lower() == RAMS_HORN else [])
    for text in cleaned:
        assert tokenizer(openai_clean(text))["input_ids"] != encoder.tokenize(text), text


def test_truncation_boundary():
    processor = tiny_meme_processor("memeclip")
    encoder = OpenAIEncoder(tiny_vocab(), [])
    eos = processor.tokenizer.eos_token_id
    fits, cut = "a" * 75, "a" * 76
    assert len(encoder.encode(fits)) == 75 and len(encoder.encode(cut)) == 76
    tokens = processor(text=[fits, cut, "a"])
    ids = tokens["input_ids"]
    assert ids.shape == (3, 77)
    assert tokens["attention_mask"][:2].sum(dim=1).tolist() == [77, 77]
    assert ids[0].tolist() == encoder.tokenize(fits) and ids[0, -2].item() == tiny_vocab()["a</w>"]
    assert ids[1].tolist() == encoder.tokenize(cut) and ids[1, -2].item() == tiny_vocab()["a"]
    assert ids[:2, -1].tolist() == [eos, eos]


def test_cdglt_preset_passes_texts_to_the_tokenizer_as_they_are():
    processor = tiny_meme_processor("cdglt")
    texts = [text for text in TEXTS if text.strip()]
    expected = processor.tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt")
    tokens = processor(text=texts)
    for key in ["input_ids", "attention_mask"]:
        assert torch.equal(tokens[key], expected[key])


def test_without_ftfy_the_other_steps_still_apply(monkeypatch, caplog):
    assert processing_meme.FTFY_AVAILABLE
    monkeypatch.setattr(processing_meme, "_ftfy", None)
    with caplog.at_level(logging.WARNING):
        processor = tiny_meme_processor("memeclip")
        for _ in range(3):
            tiny_meme_processor("memeclip")(text=["x", "y"])
    assert len([record for record in caplog.records if "ftfy" in record.getMessage()]) <= 1
    assert processor.clean_text("doesnâ€™t &amp;amp; ΟΔΟΣ\u00a0x") == "doesnâ€™t & οδος x"
    assert processor.clean_text("e\u0301") == "\u00e9"  # ftfy's last step, NFC, is kept
    assert processor(text=["ＡＢＣ"])["input_ids"][0, 1].item() != processor(text=["abc"])["input_ids"][0, 1].item()
