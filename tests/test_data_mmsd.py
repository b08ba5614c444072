import json
import shutil

import pytest
from data_fixtures import write_image
from helpers import run_fresh_python

from memekit.data import BadInputError, load_benchmark, prepare_benchmark


# MMSD2.0: split file -> rows (image_id, text, label), invented texts. 915657464401580033 does not survive a float.
ROWS2 = {
    "train": [
        {"image_id": 915657464401580033, "text": "oh great , another monday", "label": 1},
        {"image_id": 854678856724340737, "text": "None", "label": 0},
        {"image_id": 904892917277274113, "text": "NaN", "label": 1},
        {"image_id": 855466461296504834, "text": "null", "label": 0},
        {"image_id": 927373534652805125, "text": "", "label": 0},
        {"image_id": 860611036151521286, "text": "café ’ naïve 🙃", "label": 1},
        {"image_id": 860611036151521287, "text": None, "label": 0},
        {"image_id": 860611036151521288, "text": "line one\nline two", "label": 1},
    ],
    "valid": [
        {"image_id": 905640770933145600, "text": "be different .", "label": 1},
        {"image_id": 895624121509445632, "text": "my lunch today", "label": 0},
    ],
    "test": [
        {"image_id": 819287386312032256, "text": "what a lovely queue", "label": 1},
        {"image_id": 865287301475205122, "text": "a dog on a bike", "label": 0},
        {"image_id": 914066141202567168, "text": "so much fun , said nobody", "label": 1},
    ],
}


def write_mmsd2(root, rows=ROWS2, text="text_json_final", images="dataset_image"):
    (root / text).mkdir(parents=True, exist_ok=True)
    for split, items in rows.items():
        (root / text / f"{split}.json").write_text(json.dumps(items), encoding="utf-8")
    for items in rows.values():
        for index, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("image_id"), int):
                write_image(root / images / f"{item['image_id']}.jpg", seed=index)
    return root


# MMSD: split file -> lists as the release writes them (Python literals); valid2/test2 carry the hashtag label and
# then the annotator's. Posts with a filter word as a token are dropped.
ROWS1 = {
    "train.txt": [
        ["810000000000000001", "what a lovely day to be stuck in traffic", 1],
        ["810000000000000002", "None", 0],
        ["810000000000000003", "NaN", 0],
        ["810000000000000004", "null", 1],
        ["810000000000000005", "so much # sarcasm in this one", 1],  # dropped
        ["810000000000000006", "look at this <url>", 0],  # dropped
        ["810000000000000007", "sarcastically speaking , fine", 1],  # kept: not the exact token
        ["810000000000000008", "Joke of the day", 0],  # kept: tokens match exactly, case included
        ["810000000000000009", "best # humor ever", 1],  # dropped
        ["810000000000000010", "café ’ naïve 🙃 emoji_15\n.\n.", 1],
        ["810000000000000011", "it 's a \u2028 separator", 0],
    ],
    "valid2.txt": [
        ["820000000000000001", "oh wonderful , rain again", 1, 1],
        ["820000000000000002", "a picture of my lunch", 1, 0],  # the annotator's label (last) wins
        ["820000000000000003", "the joke writes itself", 0, 0],  # dropped
    ],
    "test2.txt": [
        ["830000000000000001", "best service ever , waited an hour", 1, 1],
        ["830000000000000002", "new shoes", 0, 0],
        ["830000000000000003", "exgag", 1, 1],  # dropped
    ],
}


def write_mmsd(root, rows=ROWS1, text="text", images="dataset_image", extra_lines=None):
    (root / text).mkdir(parents=True, exist_ok=True)
    for name, items in rows.items():
        lines = [repr(item) for item in items] + (extra_lines or {}).get(name, [])
        # A raw U+2028 inside a text, as a tweet may hold; repr() would escape it.
        lines = [line.replace("\\u2028", "\u2028") for line in lines]
        (root / text / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        for index, item in enumerate(items):
            write_image(root / images / f"{item[0]}.jpg", seed=index)
    return root


def counts(dataset):
    return {split: len(rows) for split, rows in dataset.items()}


def test_mmsd2_splits_labels_texts_and_exact_ids(tmp_path):
    release = write_mmsd2(tmp_path / "MMSD2.0")
    dataset = load_benchmark("mmsd2", prepare_benchmark("mmsd2", release, tmp_path / "out"))
    assert counts(dataset) == {"train": 8, "validation": 2, "test": 3}
    train = dataset["train"]
    assert train.features["sarcasm"].names == ["not sarcastic", "sarcastic"]
    assert train["id"][0] == "915657464401580033"
    assert train["id"] == [str(row["image_id"]) for row in ROWS2["train"]]
    assert train["sarcasm"] == [1, 0, 1, 0, 0, 1, 0, 1]
    assert train["text"] == [
        "oh great , another monday",
        "None",
        "NaN",
        "null",
        "",
        "café ’ naïve 🙃",
        "",
        "line one\nline two",
    ]
    assert dataset["validation"]["sarcasm"] == [1, 0]
    assert dataset["test"]["id"] == ["819287386312032256", "865287301475205122", "914066141202567168"]
    assert train[0]["image"].size == (24, 20)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "`valid.json` is the `validation` split." in card
    assert "precision, recall and F1 of the sarcastic class" in card
    assert "accuracy, f1, macro_f1 on `test`" in card
    assert "| sarcastic | 4 | 1 | 2 |" in card
    assert "@inproceedings{qin2023mmsd2" in card


@pytest.mark.parametrize(
    "text, images",
    [("data/text_json_final", "data/dataset_image"), ("text_json_final", "images"), ("text_json_final", "image")],
)
def test_mmsd2_layout_variants(tmp_path, text, images):
    release = write_mmsd2(tmp_path / "MMSD2.0", text=text, images=images)
    assert counts(load_benchmark("mmsd2", prepare_benchmark("mmsd2", release, tmp_path / "out")))["train"] == 8


def test_mmsd2_loads_offline_in_a_fresh_process(tmp_path):
    output = prepare_benchmark("mmsd2", write_mmsd2(tmp_path / "MMSD2.0"), tmp_path / "out")
    code = f"""
import json
from datasets import load_dataset
dataset = load_dataset({str(output)!r})
print(json.dumps({{"splits": {{k: len(v) for k, v in dataset.items()}}, "id": dataset["train"][0]["id"]}}))
"""
    result = run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "fresh_hf_home")
    assert result == {"splits": {"train": 8, "validation": 2, "test": 3}, "id": "915657464401580033"}


def change2(split, index, **fields):
    rows = {name: list(items) for name, items in ROWS2.items()}
    rows[split][index] = {**rows[split][index], **fields}
    return rows


def without_label(split, index):
    rows = change2(split, index)
    del rows[split][index]["label"]
    return rows


@pytest.mark.parametrize(
    "rows, fragment, origin",
    [
        (change2("train", 1, label=2), "sarcasm label 2 outside 0..1", "train.json:#1"),
        (change2("valid", 0, label="1"), "sarcasm label '1' is not a class index", "valid.json:#0"),
        (change2("test", 2, label=True), "sarcasm label True is not a class index", "test.json:#2"),
        (without_label("test", 1), "sarcasm label missing", "test.json:#1"),
        (change2("train", 3, image_id=9.156574644015801e17), "is a float, not an integer", "train.json:#3"),
        (change2("train", 4, image_id="tweet"), "image id 'tweet' is not a tweet id", "train.json:#4"),
        ({**ROWS2, "valid": [[1, 2], ROWS2["valid"][1]]}, "expected a JSON object, got list", "valid.json:#0"),
        (change2("test", 0, image_id=ROWS2["train"][2]["image_id"]), "duplicate id '904892917277274113'", "test"),
    ],
)
def test_mmsd2_bad_rows_stop_the_conversion_and_are_named(tmp_path, rows, fragment, origin):
    release = write_mmsd2(tmp_path / "MMSD2.0", rows=rows)
    with pytest.raises(BadInputError, match="1 rows") as error:
        prepare_benchmark("mmsd2", release, tmp_path / "out")
    assert fragment in str(error.value) and origin in str(error.value)
    assert not (tmp_path / "out").exists()

    dataset = load_benchmark("mmsd2", prepare_benchmark("mmsd2", release, tmp_path / "out", skip_bad=True))
    assert sum(counts(dataset).values()) == 13 - 1
    card = (tmp_path / "out" / "README.md").read_text()
    assert "1 rows could not be converted and were dropped" in card and fragment in card


def test_mmsd2_missing_image_and_broken_files(tmp_path):
    release = write_mmsd2(tmp_path / "MMSD2.0")
    (release / "dataset_image" / "905640770933145600.jpg").unlink()
    with pytest.raises(BadInputError, match="905640770933145600.jpg' not found"):
        prepare_benchmark("mmsd2", release, tmp_path / "out")
    (release / "text_json_final" / "test.json").write_text('[{"image_id": 1, "text": "cut in the mid')
    with pytest.raises(ValueError, match="test.json' is not valid JSON"):
        prepare_benchmark("mmsd2", release, tmp_path / "out")
    (release / "text_json_final" / "test.json").write_text('{"image_id": 1}')
    with pytest.raises(ValueError, match="holds a JSON dict, not an array"):
        prepare_benchmark("mmsd2", release, tmp_path / "out")
    (release / "text_json_final" / "valid.json").unlink()
    with pytest.raises(FileNotFoundError, match="valid.json.*Expected layout"):
        prepare_benchmark("mmsd2", release, tmp_path / "out")
    (tmp_path / "empty" / "dataset_image").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="text_json_final"):
        prepare_benchmark("mmsd2", tmp_path / "empty", tmp_path / "out")


def test_mmsd_filter_labels_and_texts(tmp_path):
    release = write_mmsd(tmp_path / "MMSD")
    dataset = load_benchmark("mmsd", prepare_benchmark("mmsd", release, tmp_path / "out"))
    assert counts(dataset) == {"train": 8, "validation": 2, "test": 2}
    train = dataset["train"]
    assert train["id"] == [f"8100000000000000{n:02d}" for n in (1, 2, 3, 4, 7, 8, 10, 11)]
    assert train["sarcasm"] == [1, 0, 0, 1, 1, 0, 1, 0]
    assert train["text"][:4] == ["what a lovely day to be stuck in traffic", "None", "NaN", "null"]
    assert train["text"][6:] == ["café ’ naïve 🙃 emoji_15\n.\n.", "it 's a \u2028 separator"]
    assert dataset["validation"]["id"] == ["820000000000000001", "820000000000000002"]
    assert dataset["validation"]["sarcasm"] == [1, 0]  # the annotator's label, not the hashtag one
    assert dataset["test"]["sarcasm"] == [1, 0]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "`<url>`" in card and "`exgag`" in card
    assert "are dropped: train 3 of 11, validation 1 of 3, test 1 of 3." in card
    assert "The two differ on 1 validation and 0 test posts kept." in card
    assert "@inproceedings{cai2019multimodal" in card


@pytest.mark.parametrize("text, images", [(".", "images"), ("text", "data/dataset_image"), ("text", "image")])
def test_mmsd_layout_variants(tmp_path, text, images):
    release = write_mmsd(tmp_path / "MMSD", text=text, images=images)
    assert counts(load_benchmark("mmsd", prepare_benchmark("mmsd", release, tmp_path / "out")))["train"] == 8


@pytest.mark.parametrize(
    "name, line, fragment",
    [
        ("train.txt", "not a list at all", "not a Python list literal (SyntaxError)"),
        ("train.txt", "__import__('pathlib').Path({pwned!r}).touch()", "not a Python list literal (ValueError)"),
        ("train.txt", "['810000000000000099', 'four things', 1, 1]", "expected a list ['id', 'text', label]"),
        ("test2.txt", "['830000000000000099', 'three things', 1]", "expected a list ['id', 'text', hashtag label"),
        ("valid2.txt", "['820000000000000099', 42, 1, 1]", "the text 42 is not a string"),
        ("valid2.txt", "['820000000000000099', 'a label too many', 1, 2]", "sarcasm label 2 outside 0..1"),
        ("test2.txt", "['tweet', 'odd id', 0, 0]", "image id 'tweet' is not a tweet id"),
        ("train.txt", "['810000000000000001', 'the same id again', 0]", "duplicate id '810000000000000001'"),
    ],
)
def test_mmsd_bad_lines_stop_the_conversion_and_are_named(tmp_path, name, line, fragment):
    pwned = str(tmp_path / "pwned")  # the file a line would create if it were evaluated
    release = write_mmsd(tmp_path / "MMSD", extra_lines={name: [line.format(pwned=pwned)]})
    line_number = len(ROWS1[name]) + 1
    with pytest.raises(BadInputError, match="1 rows") as error:
        prepare_benchmark("mmsd", release, tmp_path / "out")
    assert fragment in str(error.value) and f"{name}:{line_number}" in str(error.value)
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()

    dataset = load_benchmark("mmsd", prepare_benchmark("mmsd", release, tmp_path / "out", skip_bad=True))
    assert counts(dataset) == {"train": 8, "validation": 2, "test": 2}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "1 rows could not be converted and were dropped" in card and fragment in card


def test_mmsd_missing_files(tmp_path):
    release = write_mmsd(tmp_path / "MMSD")
    (release / "text" / "valid2.txt").unlink()
    with pytest.raises(FileNotFoundError, match="'text/valid2.txt', 'valid2.txt'. Expected layout"):
        prepare_benchmark("mmsd", release, tmp_path / "out")
    no_images = write_mmsd(tmp_path / "no_images", images="staging")
    shutil.rmtree(no_images / "staging")
    with pytest.raises(FileNotFoundError, match="No image folder.*'dataset_image', 'data/dataset_image'"):
        prepare_benchmark("mmsd", no_images, tmp_path / "out")


@pytest.mark.parametrize(
    "label, fragment",
    [
        (float("nan"), "sarcasm label nan is not a class index (not a finite number"),  # json.dumps writes NaN
        (float("inf"), "sarcasm label inf is not a class index (not a finite number"),  # ... and Infinity
        (1.5, "sarcasm label 1.5 is not a class index (not an integer"),
        (-0.5, "sarcasm label -0.5 is not a class index (not an integer"),
        (1e3, "sarcasm label 1000.0 outside 0..1"),
        ("true", "sarcasm label 'true' is not a class index (a string"),
        (None, "sarcasm label missing"),
    ],
)
def test_mmsd2_odd_label_values_are_bad_rows(tmp_path, label, fragment):
    release = write_mmsd2(tmp_path / "MMSD2.0", rows=change2("train", 2, label=label))
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("mmsd2", release, tmp_path / "out")
    assert f"train.json:#2: {fragment}" in str(error.value)
    dataset = load_benchmark("mmsd2", prepare_benchmark("mmsd2", release, tmp_path / "out", skip_bad=True))
    assert counts(dataset)["train"] == 7


def test_mmsd2_integral_float_labels_are_read(tmp_path):
    release = write_mmsd2(tmp_path / "MMSD2.0", rows=change2("train", 0, label=1.0))
    dataset = load_benchmark("mmsd2", prepare_benchmark("mmsd2", release, tmp_path / "out"))
    assert dataset["train"]["sarcasm"][0] == 1


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("['820000000000000099', 'x', 1, 1.5]", "sarcasm label 1.5 is not a class index (not an integer"),
        ("['820000000000000099', 'x', 1, True]", "sarcasm label True is not a class index (a boolean"),
        ("['820000000000000099', 'x', 1, '1']", "sarcasm label '1' is not a class index (a string"),
        ("['820000000000000099', 'x', 1, -1]", "sarcasm label -1 outside 0..1"),
    ],
)
def test_mmsd_odd_label_values_are_bad_rows(tmp_path, line, fragment):
    release = write_mmsd(tmp_path / "MMSD", extra_lines={"valid2.txt": [line]})
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("mmsd", release, tmp_path / "out")
    assert f"valid2.txt:4: {fragment}" in str(error.value)


@pytest.mark.parametrize(
    "images", ["data/dataset_image/dataset_image", "dataset_image/images/part1", "downloads/MMSD images"]
)
def test_images_at_any_depth(tmp_path, images):
    release2 = write_mmsd2(tmp_path / "MMSD2.0", images=images)
    assert counts(load_benchmark("mmsd2", prepare_benchmark("mmsd2", release2, tmp_path / "out2")))["train"] == 8
    release = write_mmsd(tmp_path / "MMSD", images=images)
    (release / "dataset_image").mkdir(exist_ok=True)  # an empty usual folder does not stop the search
    assert counts(load_benchmark("mmsd", prepare_benchmark("mmsd", release, tmp_path / "out")))["train"] == 8


def test_no_images_anywhere_names_lookalikes(tmp_path):
    release = write_mmsd2(tmp_path / "MMSD2.0", images="dataset_image")
    for path in (release / "dataset_image").iterdir():
        path.rename(path.with_name("x" + path.name))
    with pytest.raises(FileNotFoundError) as error:
        prepare_benchmark("mmsd2", release, tmp_path / "out")
    assert "none of the 13 images the annotations name (such as '819287386312032256.jpg')" in str(error.value)
    assert "No folder below the source holds files that look like its images." in str(error.value)
