import csv

import pytest
from data_fixtures import write_image, write_truncated_jpeg

from memekit.data import BadInputError, load_benchmark, prepare_benchmark


# (name, hate, target, stance, humour, split, text): the release's own column order, invented texts.
ROWS = [
    ("img_1.png", "0", "NA", "1", "1", "train", "love wins, every single time"),
    ("img_2.png", "1", "2", "2", "0", "train", "None"),
    ("img_3.png", "1", "0", "2", "1", "train", "NaN"),
    ("img_4.png", "0", "NA", "0", "0", "train", "null"),
    ("img_5.png", "1", "1", "2", "1", "train", 'a caption\nover two lines, with "quotes"'),
    ("img_6.png", "0", "NA", "1", "1", "train", ""),
    ("img_7.png", "1", "3", "2", "0", "train", "café, naïve, 🌈"),
    ("img_8.png", "0", "NA", "0", "1", "train", "parade day"),
    ("img_9.png", "1", "2", "2", "1", "val", "some text"),
    ("img_10.png", "0", "NA", "1", "0", "val", "more text"),
    ("img_11.png", "1", "0", "2", "1", "test", "test meme one"),
    ("img_12.png", "0", "NA", "1", "1", "test", "test meme two"),
    ("img_13.png", "0", "NA", "0", "0", "test", "test meme three"),
]
HEADER = ("name", "hate", "target", "stance", "humour", "split", "text")


def write_release(root, rows=ROWS, encoding="utf-8"):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "PrideMM.csv", "w", encoding=encoding, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(rows)
    for index, row in enumerate(rows):
        if not (root / "Images" / row[0]).exists():
            write_image(root / "Images" / row[0], seed=index)
    return root


@pytest.fixture
def release(tmp_path):
    return write_release(tmp_path / "PrideMM")


def test_splits_labels_and_texts(release, tmp_path):
    dataset = load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "out"))
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 8, "validation": 2, "test": 3}
    train = dataset["train"]
    assert train.features["stance"].names == ["Neutral", "Support", "Oppose"]
    assert train["id"] == [f"img_{i}" for i in range(1, 9)]
    assert train["hate"] == [0, 1, 1, 0, 1, 0, 1, 0]
    assert train["target"] == [-1, 2, 0, -1, 1, -1, 3, -1]  # -1 on every non-hateful meme
    assert train["text"][:4] == ["love wins, every single time", "None", "NaN", "null"]
    assert train["text"][4] == 'a caption\nover two lines, with "quotes"'
    assert train["text"][5] == "" and train["text"][6] == "café, naïve, 🌈"
    assert train[0]["image"].size == (24, 20)
    assert (tmp_path / "out" / "data" / "validation-00000-of-00001.parquet").is_file()


def test_windows_1252_release(tmp_path):
    rows = [(*ROWS[0][:6], "café – “quoted”"), *ROWS[1:6], (*ROWS[6][:6], "no emoji in cp1252"), *ROWS[7:]]
    release = write_release(tmp_path / "PrideMM", rows=rows, encoding="cp1252")
    dataset = load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "out"))
    assert dataset["train"]["text"][0] == "café – “quoted”"


def test_target_is_minus_one_unless_hateful_and_given(tmp_path):
    rows = [("img_1.png", "0", "2", "1", "1", "train", "x"), (*ROWS[1][:2], "NA", *ROWS[1][3:]), *ROWS[2:]]
    release = write_release(tmp_path / "PrideMM", rows=rows)
    dataset = load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "out"))
    assert dataset["train"]["target"][:3] == [-1, -1, 0]


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda rows: rows.__setitem__(0, (*rows[0][:3], "7", *rows[0][4:])), "stance label '7' outside 0..2"),
        (lambda rows: rows.__setitem__(1, (rows[1][0], "yes", *rows[1][2:])), "hate label 'yes' is not a class index"),
        (lambda rows: rows.__setitem__(2, (*rows[2][:5], "dev", rows[2][6])), "unknown split 'dev'"),
        (lambda rows: rows.__setitem__(3, ("img_1.png", *rows[3][1:])), "duplicate id 'img_1'"),
        (lambda rows: rows.__setitem__(4, ("absent.png", *rows[4][1:])), "absent.png"),
    ],
)
def test_bad_rows_stop_the_conversion_and_are_named(tmp_path, change, fragment):
    rows = list(ROWS)
    change(rows)
    release = write_release(tmp_path / "PrideMM", rows=rows)
    if fragment == "absent.png":
        (release / "Images" / "absent.png").unlink()
    with pytest.raises(BadInputError, match="1 rows") as error:
        prepare_benchmark("pridemm", release, tmp_path / "out")
    assert fragment in str(error.value) and "PrideMM.csv:" in str(error.value)
    assert not (tmp_path / "out").exists()

    prepare_benchmark("pridemm", release, tmp_path / "out", skip_bad=True)
    dataset = load_benchmark("pridemm", tmp_path / "out")
    assert sum(len(split) for split in dataset.values()) == len(ROWS) - 1
    card = (tmp_path / "out" / "README.md").read_text()
    assert "1 rows could not be converted and were dropped" in card and fragment in card


def test_broken_images(tmp_path):
    release = write_release(tmp_path / "PrideMM", rows=[("img_1.jpg", *ROWS[0][1:]), *ROWS[1:]])
    write_truncated_jpeg(release / "Images" / "img_1.jpg")
    with pytest.raises(BadInputError, match="img_1.jpg cannot be decoded"):
        prepare_benchmark("pridemm", release, tmp_path / "out")


def test_missing_columns_are_reported(tmp_path):
    root = tmp_path / "PrideMM"
    root.mkdir()
    (root / "Images").mkdir()
    (root / "PrideMM.csv").write_text("name,text,split,hate\nimg_1.png,x,train,0\n")
    with pytest.raises(ValueError, match="no columns \\['target', 'stance', 'humour'\\]"):
        prepare_benchmark("pridemm", root, tmp_path / "out")


def test_missing_annotation_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="PrideMM.csv"):
        prepare_benchmark("pridemm", tmp_path / "empty", tmp_path / "out")
