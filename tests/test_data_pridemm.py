import codecs
import csv
import re

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


@pytest.mark.parametrize("value", ["inf", "-inf", "1.5", "-0.5", "1e3", "true", "0x1", "+1", "١"])
@pytest.mark.parametrize("column", [1, 3])  # hate, stance
def test_odd_label_values_are_bad_rows(tmp_path, value, column):
    rows = list(ROWS)
    rows[2] = (*rows[2][:column], value, *rows[2][column + 1 :])
    release = write_release(tmp_path / "PrideMM", rows=rows)
    task = HEADER[column]
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("pridemm", release, tmp_path / "out")
    assert f"PrideMM.csv:4: {task} label {value!r} is not a class index" in str(error.value)
    dataset = load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "out", skip_bad=True))
    assert "img_3" not in dataset["train"]["id"] and len(dataset["train"]) == 7


@pytest.mark.parametrize("value", ["NaN", "NA", ""])
def test_missing_value_markers_are_bad_rows_except_for_target(tmp_path, value):
    rows = list(ROWS)
    rows[2] = (rows[2][0], value, *rows[2][2:])
    release = write_release(tmp_path / "PrideMM", rows=rows)
    with pytest.raises(BadInputError, match=re.escape(f"PrideMM.csv:4: hate label missing ({value!r})")):
        prepare_benchmark("pridemm", release, tmp_path / "out")


def test_integral_decimals_as_pandas_writes_them_are_read_as_integers(tmp_path):
    rows = [(name, *(f"{cell}.0" if cell.isdigit() else cell for cell in labels), split, text)
            for name, *labels, split, text in ROWS]  # fmt: skip
    release = write_release(tmp_path / "PrideMM", rows=rows)
    dataset = load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "out"))
    assert dataset["train"]["target"] == [-1, 2, 0, -1, 1, -1, 3, -1]
    assert dataset["train"]["stance"][:3] == [1, 2, 2]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "13 rows write a label as a decimal such as `1.0`; it is read as the integer." in card


def test_bad_label_after_multi_line_text_and_blank_lines_names_the_physical_line(tmp_path):
    rows = list(ROWS)
    rows[6] = (rows[6][0], "2", *rows[6][2:])  # img_7: hate 2
    release = write_release(tmp_path / "PrideMM", rows=rows)
    lines = (release / "PrideMM.csv").read_bytes().split(b"\r\n")
    # Line 1 is the header, img_1..img_4 lines 2-5, img_5 (a two-line text) lines 6-7; two blank lines 8-9 come next,
    # so img_6 is on line 10 and img_7 on line 11.
    (release / "PrideMM.csv").write_bytes(b"\r\n".join([*lines[:6], b"", b"", *lines[6:]]))
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("pridemm", release, tmp_path / "out")
    assert "PrideMM.csv:11: hate label '2' outside 0..1" in str(error.value)
    dataset = load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "out", skip_bad=True))
    assert dataset["train"]["text"][4] == 'a caption\nover two lines, with "quotes"'


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_utf8_bom_csv(tmp_path, encoding):
    release = write_release(tmp_path / "PrideMM")
    text = (release / "PrideMM.csv").read_text(encoding="utf-8")
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    (release / "PrideMM.csv").write_bytes(bom + text.encode(encoding))
    dataset = load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "out"))
    assert dataset["train"]["text"][6] == "café, naïve, 🌈"
    assert dataset["train"]["hate"] == [0, 1, 1, 0, 1, 0, 1, 0]


@pytest.mark.parametrize("images", ["Images/Images", "PrideMM_Images/Images/Images"])
def test_images_nested_deeper(tmp_path, images):
    release = write_release(tmp_path / "PrideMM")
    (release / "Images").rename(tmp_path / "moved")
    (release / images).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "moved").rename(release / images)
    dataset = load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "out"))
    assert len(dataset["train"]) == 8 and dataset["train"][0]["image"].size == (24, 20)


def test_no_images_names_the_folders_searched(tmp_path):
    release = write_release(tmp_path / "PrideMM")
    for path in (release / "Images").iterdir():
        path.rename(path.with_suffix(".jpg"))
    with pytest.raises(FileNotFoundError, match="none of the 13 images .*'Images', 'images'.*'Images' \\(13 files"):
        prepare_benchmark("pridemm", release, tmp_path / "out")
