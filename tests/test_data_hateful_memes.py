import json

import pytest
from data_fixtures import write_image

from memekit.data import BadInputError, load_benchmark, prepare_benchmark


def meme(number, label, text, **extra):
    row = {"id": number, "img": f"img/{number:05d}.png", "label": label, "text": text, **extra}
    return {key: value for key, value in row.items() if value is not None}


# Invented texts. dev_seen and dev_unseen share meme 1234, as the real files share memes; test_unseen has no labels.
RELEASE = {
    "train": [
        meme(1234, 0, "a sunny day at the beach"),
        meme(5316, 1, "None"),
        meme(42, 0, "NaN"),
        meme(90210, 1, "null"),
        meme(7, 0, "two\nlines, “quoted”, café 🙂"),
        meme(800, 1, ""),
    ],
    "dev_seen": [meme(1234, 0, "a sunny day at the beach"), meme(3001, 1, "dev text")],
    "dev_unseen": [meme(1234, 0, "a sunny day at the beach"), meme(3002, 0, "unseen dev text", text_length=15)],
    "test_seen": [meme(4001, 1, "test seen one"), meme(4002, 0, "test seen two"), meme(4003, 1, "test seen three")],
    "test_unseen": [meme(5001, None, "no label here"), meme(5002, None, "nor here")],
}


def write_jsonl(path, rows, style):
    """`compact`: integer ids and \\/ escapes (one copy of the release); `spaced`: zero-padded string ids."""
    lines = []
    for row in rows:
        if isinstance(row, str):  # a raw line, e.g. broken JSON
            lines.append(row)
        elif style == "compact":
            lines.append(json.dumps(row, separators=(",", ":")).replace("/", "\\/"))
        else:
            lines.append(json.dumps({**row, "id": f"{row['id']:05d}"} if isinstance(row["id"], int) else row))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_release(root, release=RELEASE, style="compact", annotations=".", images="."):
    for split, rows in release.items():
        write_jsonl(root / annotations / f"{split}.jsonl", rows, style)
    for index, row in enumerate(
        row for rows in release.values() for row in rows if isinstance(row, dict) and "img" in row
    ):
        path = root / images / row["img"]
        if not path.exists():
            write_image(path, seed=index)
    return root


def convert(release, tmp_path, **kwargs):
    return load_benchmark("hateful-memes", prepare_benchmark("hateful-memes", release, tmp_path / "out", **kwargs))


@pytest.mark.parametrize("style", ["compact", "spaced"])
def test_splits_labels_ids_and_texts(tmp_path, style):
    dataset = convert(write_release(tmp_path / "data", style=style), tmp_path)
    sizes = {split: len(rows) for split, rows in dataset.items()}
    assert sizes == {"train": 6, "dev_seen": 2, "dev_unseen": 2, "test_seen": 3, "test_unseen": 2}
    train = dataset["train"]
    assert train.features["hateful"].names == ["not hateful", "hateful"]
    assert train["id"] == ["01234", "05316", "00042", "90210", "00007", "00800"]
    assert train["hateful"] == [0, 1, 0, 1, 0, 1]
    assert train["text"] == ["a sunny day at the beach", "None", "NaN", "null", "two\nlines, “quoted”, café 🙂", ""]
    assert dataset["dev_seen"]["id"][0] == dataset["dev_unseen"]["id"][0] == "01234"  # shared memes are allowed
    assert "text_length" not in dataset["dev_unseen"].features
    assert dataset["test_unseen"]["hateful"] == [-1, -1]
    assert train[1]["image"].size == (24, 20)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "One split per release file: `train`, `dev_seen`, `dev_unseen`, `test_seen`, `test_unseen`." in card
    assert "Rows without a label (-1 for `hateful`): test_unseen 2." in card
    assert "on `test_seen`" in card and "dev_seen" in card
    assert (
        "1 memes appear in more than one split (train and dev_seen: 1; train and dev_unseen: 1; dev_seen and "
        "dev_unseen: 1); each copy is kept, with the same id, in each of its splits."
    ) in card


def test_any_subset_of_the_files(tmp_path):
    release = {split: RELEASE[split] for split in ("train", "test_unseen")}
    dataset = convert(write_release(tmp_path / "data", release=release), tmp_path)
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 6, "test_unseen": 2}
    assert (tmp_path / "out" / "data" / "test_unseen-00000-of-00001.parquet").is_file()


def test_phase_1_file_names(tmp_path):
    release = {"train": RELEASE["train"], "dev": RELEASE["dev_seen"], "test": [meme(4001, None, "unlabelled")]}
    dataset = convert(write_release(tmp_path / "data", release=release), tmp_path)
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 6, "dev_seen": 2, "test_seen": 1}
    assert dataset["test_seen"]["hateful"] == [-1]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "`dev.jsonl`, the phase-1 name of `dev_seen`, is the `dev_seen` split." in card


def test_phase_2_names_win_over_phase_1_names(tmp_path):
    release = {"train": RELEASE["train"], "dev_seen": RELEASE["dev_seen"], "dev": [meme(9999, 1, "old dev")]}
    dataset = convert(write_release(tmp_path / "data", release=release), tmp_path)
    assert dataset["dev_seen"]["id"] == ["01234", "03001"]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "`dev.jsonl` (phase 1) was not read: `dev_seen.jsonl`, its phase-2 name, is present." in card


@pytest.mark.parametrize(
    "annotations, images",
    [("data", "data"), ("hateful_memes", "hateful_memes"), ("defaults/annotations", "defaults/images")],
)
def test_layout_variants(tmp_path, annotations, images):
    release = write_release(tmp_path / "release", annotations=annotations, images=images)
    assert len(convert(release, tmp_path)["train"]) == 6


def test_img_without_its_folder(tmp_path):
    release = write_release(tmp_path / "data", release={"train": RELEASE["train"]})
    write_jsonl(release / "train.jsonl", [{**row, "img": row["img"][4:]} for row in RELEASE["train"]], "compact")
    assert convert(release, tmp_path)["train"]["id"][0] == "01234"


def replace(index, row):
    def change(rows):
        rows[index] = row

    return change


@pytest.mark.parametrize(
    "change, fragment",
    [
        (replace(1, meme(5316, 2, "x")), "hateful label 2 outside 0..1"),
        (replace(1, meme(5316, "yes", "x")), "hateful label 'yes' is not a class index"),
        (replace(1, {**meme(5316, 1, "x"), "id": 5317}), "id 5317 does not match the image 'img/05316.png'"),
        (replace(1, {"id": 5316, "label": 1, "text": "x"}), "no image name in `img`"),
        (replace(1, '{"id":5316,"img":"img\\/05316.png",'), "not valid JSON"),
        (replace(1, meme(1234, 0, "again")), "duplicate id '01234'"),
        (replace(1, meme(99999, 0, "x")), "image 'img/99999.png' not found"),
    ],
)
def test_bad_rows_stop_the_conversion_and_are_named(tmp_path, change, fragment):
    train = list(RELEASE["train"])
    change(train)
    release = write_release(tmp_path / "data", release={**RELEASE, "train": train})
    (release / "img" / "99999.png").unlink(missing_ok=True)
    with pytest.raises(BadInputError, match="1 rows") as error:
        prepare_benchmark("hateful-memes", release, tmp_path / "out")
    assert fragment in str(error.value) and "train.jsonl:2" in str(error.value)
    assert not (tmp_path / "out").exists()

    dataset = convert(release, tmp_path, skip_bad=True)
    assert len(dataset["train"]) == 5 and len(dataset["dev_seen"]) == 2
    card = (tmp_path / "out" / "README.md").read_text()
    assert "1 rows could not be converted and were dropped" in card and fragment in card


def test_missing_image_folder(tmp_path):
    root = tmp_path / "data"
    write_jsonl(root / "train.jsonl", RELEASE["train"], "compact")
    with pytest.raises(FileNotFoundError, match="No image folder"):
        prepare_benchmark("hateful-memes", root, tmp_path / "out")


def test_missing_annotation_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="dev_seen.jsonl"):
        prepare_benchmark("hateful-memes", tmp_path / "empty", tmp_path / "out")


def test_shared_memes_are_counted_per_pair_of_splits(tmp_path):
    shared = [meme(6001, 0, "shared one"), meme(6002, 1, "shared two")]
    release = {
        "train": RELEASE["train"][1:],
        "dev_seen": [*shared, meme(3001, 1, "dev text")],
        "dev_unseen": [*shared, meme(3002, 0, "unseen dev text")],
        "test_seen": RELEASE["test_seen"],
    }
    dataset = convert(write_release(tmp_path / "data", release=release), tmp_path)
    assert dataset["dev_seen"]["id"][:2] == dataset["dev_unseen"]["id"][:2] == ["06001", "06002"]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "2 memes appear in more than one split (dev_seen and dev_unseen: 2);" in card


def test_disjoint_files_say_so(tmp_path):
    release = {"train": RELEASE["train"], "test_seen": RELEASE["test_seen"]}
    convert(write_release(tmp_path / "data", release=release), tmp_path)
    assert "No meme appears in more than one split." in (tmp_path / "out" / "README.md").read_text()


@pytest.mark.parametrize(
    "label, fragment",
    [
        (float("nan"), "hateful label nan is not a class index (not a finite number"),  # JSON NaN, which json reads
        (float("inf"), "hateful label inf is not a class index (not a finite number"),
        (0.5, "hateful label 0.5 is not a class index (not an integer"),
        (True, "hateful label True is not a class index (a boolean"),
        ("1.5", "hateful label '1.5' is not a class index"),
        ("true", "hateful label 'true' is not a class index"),
        ("1e3", "hateful label '1e3' is not a class index"),
        (-0.5, "hateful label -0.5 is not a class index"),
        ([1], "hateful label [1] is not a class index (a list"),
    ],
)
def test_odd_label_values_are_bad_rows(tmp_path, label, fragment):
    train = [*RELEASE["train"][:2], meme(42, label, "NaN"), *RELEASE["train"][3:]]
    release = write_release(tmp_path / "data", release={**RELEASE, "train": train})
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("hateful-memes", release, tmp_path / "out")
    assert f"train.jsonl:3: {fragment}" in str(error.value)
    assert convert(release, tmp_path, skip_bad=True)["train"]["id"] == ["01234", "05316", "90210", "00007", "00800"]


def test_integral_floats_and_digit_strings_are_labels(tmp_path):
    train = [meme(1234, 0.0, "a"), meme(5316, 1.0, "b"), meme(42, "1", "c"), meme(90210, " 0 ", "d")]
    dataset = convert(write_release(tmp_path / "data", release={"train": train}), tmp_path)
    assert dataset["train"]["hateful"] == [0, 1, 1, 0]


@pytest.mark.parametrize("images", ["data/img", "hateful_memes/img/img", "archive/hateful_memes/data/img"])
def test_image_folder_at_any_depth(tmp_path, images):
    root = tmp_path / "release"
    write_release(root, images="staging")
    (root / images).parent.mkdir(parents=True, exist_ok=True)
    (root / "staging" / "img").rename(root / images)
    dataset = convert(root, tmp_path)
    assert len(dataset["train"]) == 6 and dataset["train"][1]["image"].size == (24, 20)
