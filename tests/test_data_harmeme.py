import json

import pytest
from data_fixtures import write_image

from memekit.cli import main as cli_main
from memekit.data import BadInputError, load_benchmark, prepare_benchmark


def meme(meme_id, labels, text):
    return {"id": meme_id, "image": f"{meme_id}.png", "labels": labels, "text": text}


# Invented texts in the release's format; the odd rows are the anomalies seen in the real files.
HARM_C = {
    "train": [
        meme("covid_memes_1", ["not harmful"], "wash your hands\nfor twenty seconds\n"),
        meme("covid_memes_2", ["somewhat harmful", "individual"], "the minister says masks are optional"),
        meme("covid_memes_3", ["very harmful", "society"], "null"),  # the release's marker for no OCR text
        meme("covid_memes_4", ["very harmful", "community"], "None"),
        meme("covid_memes_5", ["somewhat harmful", "organization"], "NaN"),
        meme("covid_memes_6", ["not harmful"], "café au lait, “quarantine” 🦠"),
        meme("covid_memes_7", ["somewhat harmful"], "harmful, no target"),
        meme("covid_memes_8", ["not harmful", "organization"], "not harmful, with a target"),
        meme("covid_memes_9", ["very harmful", "individual", "community"], "two targets"),
    ],
    "val": [
        meme("covid_memes_10", ["not harmful"], "stay home"),
        meme("covid_memes_11", ["somewhat harmful", "society"], "null"),
    ],
    "test": [
        meme("covid_memes_12", ["very harmful", "organization"], "vaccine rumours"),
        meme("covid_memes_13", ["not harmful"], "zoom call again"),
        meme("covid_memes_14", ["somewhat harmful", "community"], "panic buying"),
    ],
}
HARM_P = {
    "train": [
        meme("memes_1", ["not harmful"], "vote on 11/03/20\n"),
        meme("memes_2", ["somewhat harmful", "organization"], 'the party of "no"'),
        meme("memes_3", ["very harmful", "individual"], "UNK"),  # the release's marker for no OCR text
        meme("memes_4", ["somewhat harmful", "individual", "community"], "two targets"),
        meme("memes_5", ["not harmful", "organization"], "not harmful, with a target"),
        meme("memes_6", ["very harmful"], "harmful, no target"),
        meme("memes_7", ["somewhat harmful", "society"], "ΜΕΜΕS in Greek capitals"),
    ],
    "val": [meme("memes_8", ["not harmful"], "debate night"), meme("memes_9", ["very harmful", "community"], "UNK")],
    "test": [meme("memes_10", ["somewhat harmful", "individual"], "the candidate, again")],
}
C_FILES = {"train": "train.jsonl", "val": "val.jsonl", "test": "test.jsonl"}
P_FILES = {"train": "train_v1.jsonl", "val": "val_v1.jsonl", "test": "test_v1.jsonl"}


def write_jsonl(path, rows, compact, encoding="utf-8"):
    """Harm-C is spaced raw UTF-8, Harm-P compact with \\uXXXX and \\/ escapes; both with CRLF line ends."""
    lines = []
    for row in rows:
        if isinstance(row, str):  # a raw line, e.g. broken JSON
            lines.append(row)
        elif compact:
            lines.append(json.dumps(row, separators=(",", ":")).replace("/", "\\/"))
        else:
            lines.append(json.dumps(row, ensure_ascii=False))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def write_images(folder, splits, seed=0):
    for index, row in enumerate(row for rows in splits.values() for row in rows if isinstance(row, dict)):
        if not (folder / row["image"]).exists():
            write_image(folder / row["image"], seed=seed + index)


def write_momenta(root, harm_c=HARM_C, harm_p=HARM_P, images="HarMeme_V1/images/HarMeme_Images", encoding="utf-8"):
    """The MOMENTA V1 layout, with the separate image archive unpacked at `images` (relative to `root`)."""
    for split, name in C_FILES.items():
        write_jsonl(root / "HarMeme_V1/Annotations/Harm-C" / name, harm_c[split], compact=False, encoding=encoding)
    for split, name in P_FILES.items():
        write_jsonl(root / "HarMeme_V1/Annotations/Harm-P" / name, harm_p[split], compact=True)
    write_images(root / images / "harmeme_images_covid_19", harm_c)
    write_images(root / images / "harmeme_images_us_pol", harm_p, seed=100)
    return root


def write_flat(root, splits, images="images", compact=False):
    for split, name in C_FILES.items():
        write_jsonl(root / name, splits[split], compact=compact)
    write_images(root / images, splits)
    return root


def convert(name, release, tmp_path, **kwargs):
    return load_benchmark(name, prepare_benchmark(name, release, tmp_path / "out", **kwargs))


def test_harm_c_labels_texts_and_notes(tmp_path):
    dataset = convert("harmeme-c", write_momenta(tmp_path / "release"), tmp_path)
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 9, "validation": 2, "test": 3}
    train = dataset["train"]
    assert train.features["harmfulness"].names == ["not harmful", "somewhat harmful", "very harmful"]
    assert train.features["harmful"].names == ["not harmful", "harmful"]
    assert train.features["target"].names == ["individual", "organization", "community", "society"]
    assert train["id"] == [f"covid_memes_{i}" for i in range(1, 10)]
    assert train["harmfulness"] == [0, 1, 2, 2, 1, 0, 1, 0, 2]
    assert train["harmful"] == [0, 1, 1, 1, 1, 0, 1, 0, 1]
    # -1: not harmful (even with a target listed, row 8) and harmful without target (row 7); first of two (row 9).
    assert train["target"] == [-1, 0, 3, 2, 1, -1, -1, -1, 0]
    assert train["text"][:6] == [
        "wash your hands\nfor twenty seconds\n",
        "the minister says masks are optional",
        "null",
        "None",
        "NaN",
        "café au lait, “quarantine” 🦠",
    ]
    assert dataset["validation"]["harmful"] == [0, 1] and dataset["test"]["target"] == [1, -1, 2]
    assert train[0]["image"].size == (24, 20)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "`val` of the release is the `validation` split." in card
    assert 'The release writes "null" as the text of a meme without OCR text (2 memes)' in card
    assert "1 not-harmful memes list a target" in card
    assert "1 harmful memes list no target (-1)." in card
    assert "1 harmful memes list two or more targets; the first one is kept." in card
    assert "No row was dropped as unconvertible (bad input)." in card


def test_harm_p_compact_escaped_json(tmp_path):
    dataset = convert("harmeme-p", write_momenta(tmp_path / "release"), tmp_path)
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 7, "validation": 2, "test": 1}
    train = dataset["train"]
    assert train["id"] == [f"memes_{i}" for i in range(1, 8)]
    assert train["harmfulness"] == [0, 1, 2, 1, 0, 2, 1]
    assert train["harmful"] == [0, 1, 1, 1, 0, 1, 1]
    assert train["target"] == [-1, 1, 0, 0, -1, -1, 3]
    assert train["text"][:3] == ["vote on 11/03/20\n", 'the party of "no"', "UNK"]
    assert train["text"][6] == "ΜΕΜΕS in Greek capitals"
    assert dataset["validation"]["target"] == [-1, 2]
    card = (tmp_path / "out" / "README.md").read_text()
    assert 'The release writes "UNK" as the text of a meme without OCR text (2 memes)' in card
    assert "1 harmful memes list two or more targets" in card


@pytest.mark.parametrize(
    "images", ["HarMeme_V1/images/HarMeme_Images", "HarMeme_V1/HarMeme_Images", "HarMeme_Images", "images"]
)
def test_image_archive_anywhere_under_the_source(tmp_path, images):
    release = write_momenta(tmp_path / "release", images=images)
    dataset = convert("harmeme-p", release, tmp_path)
    assert len(dataset["train"]) == 7


def test_annotations_without_the_v1_folder(tmp_path):
    release = write_momenta(tmp_path / "release")
    (release / "HarMeme_V1").rename(tmp_path / "moved")
    (tmp_path / "moved" / "Annotations").rename(release / "Annotations")
    (tmp_path / "moved" / "images").rename(release / "images")
    assert len(convert("harmeme-c", release, tmp_path)["test"]) == 3


def test_an_image_in_its_own_folder_wins_over_copies_elsewhere(tmp_path):
    release = write_momenta(tmp_path / "release")
    archive = release / "HarMeme_V1/images/HarMeme_Images"
    write_image(archive / "harmeme_images_covid_19" / "memes_1.png", seed=7, size=(30, 30))  # a misplaced copy
    write_image(release / "memes_1.png", seed=8, size=(40, 40))  # a stray copy, shallower
    write_image(release / "covid_memes_1.png", seed=9, size=(50, 50))
    assert convert("harmeme-p", release, tmp_path)["train"][0]["image"].size == (24, 20)
    prepare_benchmark("harmeme-c", release, tmp_path / "out_c")
    assert load_benchmark("harmeme-c", tmp_path / "out_c")["train"][0]["image"].size == (24, 20)


def test_flat_folder(tmp_path):
    dataset = convert("harmeme-c", write_flat(tmp_path / "flat", HARM_C), tmp_path)
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 9, "validation": 2, "test": 3}
    assert dataset["train"]["target"] == [-1, 0, 3, 2, 1, -1, -1, -1, 0]


def test_flat_harm_p_folder(tmp_path):
    dataset = convert("harmeme-p", write_flat(tmp_path / "flat", HARM_P, compact=True), tmp_path)
    assert dataset["train"]["harmfulness"] == [0, 1, 2, 1, 0, 2, 1]


def test_mmf_layout(tmp_path):
    root = tmp_path / "mmf"
    for split, name in C_FILES.items():
        write_jsonl(root / "data/datasets/memes/defaults/annotations" / name, HARM_C[split], compact=False)
    write_images(root / "data/datasets/memes/defaults/images", HARM_C)
    assert len(convert("harmeme-c", root, tmp_path)["train"]) == 9


def test_the_other_datasets_files_are_refused(tmp_path):
    release = write_flat(tmp_path / "flat", HARM_P, compact=True)
    with pytest.raises(ValueError, match="convert them as 'harmeme-p'"):
        prepare_benchmark("harmeme-c", release, tmp_path / "out")


def test_windows_1252_annotations(tmp_path):
    harm_c = {**HARM_C, "train": [meme("covid_memes_1", ["not harmful"], "café – “quoted”"), *HARM_C["train"][1:5]]}
    release = write_momenta(tmp_path / "release", harm_c=harm_c, encoding="cp1252")
    assert convert("harmeme-c", release, tmp_path)["train"]["text"][0] == "café – “quoted”"


def replace(index, row):
    def change(rows):
        rows[index] = row

    return change


@pytest.mark.parametrize(
    "change, fragment",
    [
        (replace(1, meme("covid_memes_2", ["kinda harmful"], "x")), "unknown harmfulness 'kinda harmful'"),
        (replace(1, meme("covid_memes_2", [], "x")), "`labels` must be a non-empty list of strings"),
        (replace(1, meme("covid_memes_2", ["very harmful", "government"], "x")), "unknown target 'government'"),
        (replace(1, '{"id": "covid_memes_2", "labels": ["not harmful"'), "not valid JSON"),
        (replace(1, {**HARM_C["train"][1], "id": "covid_memes_1"}), "duplicate id 'covid_memes_1'"),
        (replace(1, meme("covid_memes_99", ["not harmful"], "x")), "covid_memes_99.png' not found"),
    ],
)
def test_bad_rows_stop_the_conversion_and_are_named(tmp_path, change, fragment):
    train = list(HARM_C["train"])
    change(train)
    release = write_momenta(tmp_path / "release", harm_c={**HARM_C, "train": train})
    for image in release.rglob("covid_memes_99.png"):
        image.unlink()
    with pytest.raises(BadInputError, match="1 rows") as error:
        prepare_benchmark("harmeme-c", release, tmp_path / "out")
    assert fragment in str(error.value) and "train.jsonl:2" in str(error.value)
    assert not (tmp_path / "out").exists()

    dataset = convert("harmeme-c", release, tmp_path, skip_bad=True)
    assert sum(len(split) for split in dataset.values()) == 13
    card = (tmp_path / "out" / "README.md").read_text()
    assert "1 rows could not be converted and were dropped" in card and fragment in card


def test_missing_image_folder_names_the_layout(tmp_path):
    root = tmp_path / "release"
    for split, name in C_FILES.items():
        write_jsonl(root / "Annotations/Harm-C" / name, HARM_C[split], compact=False)
    with pytest.raises(FileNotFoundError, match="harmeme_images_covid_19"):
        prepare_benchmark("harmeme-c", root, tmp_path / "out")


def test_missing_split_file(tmp_path):
    release = write_momenta(tmp_path / "release")
    (release / "HarMeme_V1/Annotations/Harm-P/val_v1.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="no sibling 'val_v1.jsonl'"):
        prepare_benchmark("harmeme-p", release, tmp_path / "out")


def test_missing_annotation_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="Annotations/Harm-C/\\{train,val,test\\}.jsonl"):
        prepare_benchmark("harmeme-c", tmp_path / "empty", tmp_path / "out")


# Harm-P's train_v1.jsonl holds one meme with an empty severity, counted in the official split size (2,938).
EMPTY_SEVERITY = meme("memes_326", ["", "individual", "organization"], "the release leaves its harmfulness empty")


def test_harm_p_row_with_an_empty_harmfulness_is_kept(tmp_path):
    harm_p = {**HARM_P, "train": [*HARM_P["train"][:3], EMPTY_SEVERITY, *HARM_P["train"][3:]]}
    release = write_momenta(tmp_path / "release", harm_p=harm_p)
    out = tmp_path / "out"
    assert cli_main(["data", "prepare", "harmeme-p", "--source", str(release), "--output", str(out)]) == 0
    train = load_benchmark("harmeme-p", out)["train"]
    assert len(train) == 8 and train["id"][3] == "memes_326"
    assert train["harmfulness"][3] == -1 and train["harmful"][3] == -1
    assert train["target"][3] == 0  # the first target listed, as for harmful memes: individual
    assert train["harmfulness"][:3] == [0, 1, 2] and train["target"][4:] == [0, -1, -1, 3]
    card = (out / "README.md").read_text()
    assert (
        "1 memes have an empty harmfulness label (-1 for harmfulness and harmful); their target is kept (the first "
        "one listed, -1 when none is)."
    ) in card
    assert "| (no label: -1) | 1 | 0 | 0 |" in card  # in the class counts of harmfulness and harmful
    assert "1 harmful memes list two or more targets" in card  # memes_4 only: memes_326 is not known harmful
    assert "No row was dropped as unconvertible (bad input)." in card


def test_empty_harmfulness_without_a_target(tmp_path):
    harm_c = {**HARM_C, "val": [*HARM_C["val"], meme("covid_memes_15", ["  "], "no labels at all")]}
    dataset = convert("harmeme-c", write_momenta(tmp_path / "release", harm_c=harm_c), tmp_path)
    assert dataset["validation"][2]["harmfulness"] == dataset["validation"][2]["target"] == -1


@pytest.mark.parametrize(
    "labels, fragment",
    [
        (["inf"], "unknown harmfulness 'inf'"),
        (["NaN"], "unknown harmfulness 'NaN'"),
        (["1.5"], "unknown harmfulness '1.5'"),
        (["-0.5"], "unknown harmfulness '-0.5'"),
        (["1e3"], "unknown harmfulness '1e3'"),
        (["true"], "unknown harmfulness 'true'"),
        ([1], "`labels` must be a non-empty list of strings, got [1]"),
        ([True], "`labels` must be a non-empty list of strings, got [True]"),
        ([float("nan")], "`labels` must be a non-empty list of strings, got [nan]"),  # written as JSON NaN
        (["very harmful", "1.0"], "unknown target '1.0'"),
        ("very harmful", "`labels` must be a non-empty list of strings, got 'very harmful'"),
    ],
)
def test_odd_label_values_are_bad_rows(tmp_path, labels, fragment):
    harm_p = {**HARM_P, "val": [HARM_P["val"][0], meme("memes_9", labels, "UNK")]}
    release = write_momenta(tmp_path / "release", harm_p=harm_p)
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("harmeme-p", release, tmp_path / "out")
    assert f"val_v1.jsonl:2: {fragment}" in str(error.value)
    assert len(convert("harmeme-p", release, tmp_path, skip_bad=True)["validation"]) == 1
