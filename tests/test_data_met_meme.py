import codecs
import csv
import re

import pytest
import yaml
from data_fixtures import write_image
from helpers import run_fresh_python

from memekit.cli import main as cli_main
from memekit.convert.cdglt import CDGLT_TASK_LABELS
from memekit.data import BadInputError, load_benchmark, prepare_benchmark
from memekit.dataset_scripts import BENCHMARKS


LABEL_HEADER = (
    "file_name",
    "sentiment category",
    "sentiment degree",
    "intention detection",
    "offensiveness detection",
    "metaphor occurrence",
    "metaphor category",
    "target domain",
    "source domain",
    "target modality",
    "source modality",
)
# N -> (sentiment, degree, intention, offensiveness, metaphor): the release's label strings, invented memes.
LABELS = {
    0: ("4(sorrow)", "2(moderately)", "4(offensive)", "1(slightly)", "1"),
    1: ("1(happiness)", "1(slightly)", "3(entertaining)", "0(non-offensive)", "0"),
    2: ("7(surprise)", "3(very)", "1(interactive)", "3(very)", "1"),
    3: ("2(love)", "1(slightly)", "2(expressive)", "0(non-offensive)", "0"),
    4: ("3(anger)", "2(moderately)", "4(offensive)", "2(moderately)", "1"),
    5: ("5(fear)", "1(slightly)", "2(expressive)", "0(non-offensive)", "0"),
    6: ("6(hate)", "3(very)", "5(other)", "1(slightly)", "1"),
    7: ("1(happiness)", "1(slightly)", "3(entertaining)", "0(non-offensive)", "0"),
    8: ("2(love)", "2(moderately)", "2(expressive)", "0(non-offensive)", "1"),
    9: ("4(sorrow)", "1(slightly)", "2(expressive)", "1(slightly)", "0"),
    10: ("6(hate)", "3(very)", "4(offensive)", "3(very)", "1"),
    11: ("1(happiness)", "1(slightly)", "3(entertaining)", "0(non-offensive)", "0"),
    12: ("3(anger)", "1(slightly)", "2(expressive)", "0(non-offensive)", "0"),  # in no split file
}
TEXTS = {
    0: "when the seal finally answers",
    1: "None",
    2: "NaN",
    3: "null",
    4: 'first line\nsecond line, with "quotes"',
    5: "",
    6: "café, naïve, 🙂",
    7: "monday again",
    8: "my cat, my rules",
    9: "the last slice of pizza",
    10: "nobody:\n\nabsolutely nobody:",
    12: "not in any split",
}  # 11 has no row in E_text.csv
# 13 and 14 are listed in the split files but have neither a row in label_E.csv nor an image (like 695 in the release).
SPLITS = {"train": [0, 1, 2, 3, 4, 5, 6, 13], "val": [7, 8, 14], "test": [9, 10, 11]}


def name(number):
    return f"image_ ({number}).jpg"


def write_release(root, labels=LABELS, splits=SPLITS, encoding="utf-8", images="Eimages/Eimages", prefix=""):
    folder = root / prefix
    folder.mkdir(parents=True, exist_ok=True)
    # label_E.csv sorts its rows as strings ("image_ (10).jpg" before "image_ (2).jpg"); the unused columns hold
    # mojibake in the release.
    with open(folder / "label_E.csv", "w", encoding=encoding, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(LABEL_HEADER)
        for number in sorted(labels, key=name):
            writer.writerow((name(number), *labels[number], "complementary", "Ã¤Â½Â", "seal", "text", "image"))
    with open(folder / "E_text.csv", "w", encoding=encoding, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("file_name", "text"))
        writer.writerows((name(number), text) for number, text in sorted(TEXTS.items(), key=lambda x: name(x[0])))
    for split, numbers in splits.items():
        with open(folder / f"avg_{split}_label_E.csv", "w", encoding=encoding, newline="") as file:
            writer = csv.writer(file)
            writer.writerow(("images_name", *LABEL_HEADER[1:], "Language"))
            for number in numbers:
                # The split files' own label columns are not used: they hold nonsense here to prove it.
                writer.writerow((f"E_{name(number)}", "9(nothing)", *LABEL_HEADER[2:], "EN"))
    for number in labels:
        if not (root / images / name(number)).exists():
            write_image(root / images / name(number), seed=number)
    return root


@pytest.fixture
def release(tmp_path):
    return write_release(tmp_path / "met")


def test_splits_labels_and_texts(release, tmp_path):
    dataset = load_benchmark("met-meme", prepare_benchmark("met-meme", release, tmp_path / "out"))
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 7, "validation": 2, "test": 3}
    train = dataset["train"]
    assert train["id"] == ["0", "1", "2", "3", "4", "5", "6"]
    assert train["sentiment"] == [3, 0, 6, 1, 2, 4, 5]
    assert train["sentiment_degree"] == [1, 0, 2, 0, 1, 0, 2]
    assert train["intention"] == [3, 2, 0, 1, 3, 1, 4]
    assert train["offensiveness"] == [1, 0, 3, 0, 2, 0, 1]
    assert train["metaphor"] == [1, 0, 1, 0, 1, 0, 1]
    assert train["text"] == [TEXTS[number] for number in range(7)]  # "None", "NaN", "null" kept; "" when empty
    assert dataset["validation"]["id"] == ["7", "8"]
    assert dataset["test"]["id"] == ["9", "10", "11"]
    assert dataset["test"]["text"] == ["the last slice of pizza", "nobody:\n\nabsolutely nobody:", ""]
    assert dataset["test"]["offensiveness"] == [1, 3, 0]
    assert train[0]["image"].size == (24, 20)
    for task, names in CDGLT_TASK_LABELS.items():
        assert train.features[task].names == names


def test_tasks_are_the_cdglt_tasks():
    tasks = BENCHMARKS["met-meme"].tasks
    assert {task.name: list(task.class_names) for task in tasks} == CDGLT_TASK_LABELS
    assert [task.name for task in tasks] == list(CDGLT_TASK_LABELS)
    assert all(task.metrics == ("accuracy", "weighted_f1") and task.report_split == "test" for task in tasks)


def test_card_records_what_was_left_out(release, tmp_path):
    output = prepare_benchmark("met-meme", release, tmp_path / "out")
    text = (output / "README.md").read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert {split["name"]: split["num_examples"] for split in meta["dataset_info"]["splits"]} == {
        "train": 7,
        "validation": 2,
        "test": 3,
    }
    assert "2 memes listed in the split files have no row in `label_E.csv`" in text
    assert "train: 1 (13); validation: 1 (14)." in text
    assert "1 rows of `label_E.csv` are in no split file and were not converted: 12." in text
    assert "1 memes have no row in `E_text.csv`: their text is the empty string." in text
    assert "| sorrow | 1 | 0 | 1 |" in text
    assert "No row was dropped as unconvertible (bad input)." in text
    assert "@inproceedings{xu2022metmeme" in text


@pytest.mark.parametrize(
    "images, prefix", [("Eimages", ""), ("data/Eimages/Eimages", "data"), ("data/Eimages", "data")]
)
def test_layout_variants(tmp_path, images, prefix):
    release = write_release(tmp_path / "met", images=images, prefix=prefix)
    dataset = load_benchmark("met-meme", prepare_benchmark("met-meme", release, tmp_path / "out"))
    assert len(dataset["train"]) == 7


def test_windows_1252_release(tmp_path, monkeypatch):
    monkeypatch.setitem(TEXTS, 6, "café – “quoted”")
    release = write_release(tmp_path / "met", encoding="cp1252")
    dataset = load_benchmark("met-meme", prepare_benchmark("met-meme", release, tmp_path / "out"))
    assert dataset["train"]["text"][6] == "café – “quoted”"


def test_loads_offline_in_a_fresh_process(release, tmp_path):
    output = prepare_benchmark("met-meme", release, tmp_path / "out")
    code = f"""
import json
from datasets import load_dataset
dataset = load_dataset({str(output)!r})
splits = {{k: len(v) for k, v in dataset.items()}}
print(json.dumps({{"splits": splits, "intention": list(dataset["train"]["intention"])}}))
"""
    result = run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "fresh_hf_home")
    assert result == {"splits": {"train": 7, "validation": 2, "test": 3}, "intention": [3, 2, 0, 1, 3, 1, 4]}


def relabel(number, index, value):
    labels = dict(LABELS)
    labels[number] = tuple(value if i == index else old for i, old in enumerate(LABELS[number]))
    return labels


@pytest.mark.parametrize(
    "labels, splits, fragment, origin, converted",
    [
        (relabel(1, 0, "8(joy)"), SPLITS, "sentiment label '8(joy)' outside 1..7", "label_E.csv:3", 11),
        (relabel(4, 0, "4(happiness)"), SPLITS, "class 4 is 'sorrow', not 'happiness'", "label_E.csv:", 11),
        (relabel(9, 2, "entertaining"), SPLITS, "intention label 'entertaining' is not of the form", "label_E", 11),
        (relabel(2, 3, "4(very)"), SPLITS, "offensiveness label '4(very)' outside 0..3", "label_E.csv:", 11),
        (relabel(3, 4, "2"), SPLITS, "metaphor label '2' outside 0..1", "label_E.csv:", 11),
        (relabel(5, 1, "0(slightly)"), SPLITS, "sentiment_degree label '0(slightly)' outside 1..3", "label_E", 11),
        (LABELS, {**SPLITS, "test": [9, 10, 11, 3]}, "meme 3 is already listed at avg_train_label_E.csv:5", "", 12),
        (LABELS, {**SPLITS, "val": [7, 8, 14, "x"]}, "'E_image_ (x).jpg' is not of the form", "avg_val", 12),
    ],
)
def test_bad_rows_stop_the_conversion_and_are_named(tmp_path, labels, splits, fragment, origin, converted):
    release = write_release(tmp_path / "met", labels=labels, splits=splits)
    with pytest.raises(BadInputError, match="1 rows") as error:
        prepare_benchmark("met-meme", release, tmp_path / "out")
    assert fragment in str(error.value) and origin in str(error.value)
    assert not (tmp_path / "out").exists()

    prepare_benchmark("met-meme", release, tmp_path / "out", skip_bad=True)
    dataset = load_benchmark("met-meme", tmp_path / "out")
    assert sum(len(split) for split in dataset.values()) == converted
    card = (tmp_path / "out" / "README.md").read_text()
    assert "1 rows could not be converted and were dropped" in card and fragment in card


def test_missing_image_and_duplicate_row(release, tmp_path):
    (release / "Eimages" / "Eimages" / name(7)).unlink()
    with open(release / "label_E.csv", "a", newline="") as file:
        csv.writer(file).writerow((name(2), *LABELS[2], "", "", "", "", ""))
    with pytest.raises(BadInputError, match="2 rows") as error:
        prepare_benchmark("met-meme", release, tmp_path / "out")
    assert "image_ (7).jpg' not found" in str(error.value)
    assert "duplicate id '2' (first at label_E.csv:" in str(error.value)
    dataset = load_benchmark("met-meme", prepare_benchmark("met-meme", release, tmp_path / "out", skip_bad=True))
    assert dataset["validation"]["id"] == ["8"] and dataset["train"]["id"] == [str(n) for n in range(7)]


def test_missing_files_and_columns(release, tmp_path):
    (release / "avg_val_label_E.csv").unlink()
    with pytest.raises(FileNotFoundError, match="avg_val_label_E.csv.*Expected layout"):
        prepare_benchmark("met-meme", release, tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="label_E.csv"):
        prepare_benchmark("met-meme", tmp_path / "empty", tmp_path / "out")

    release = write_release(tmp_path / "met2")
    (release / "label_E.csv").write_text("file_name,sentiment category\nimage_ (0).jpg,4(sorrow)\n")
    with pytest.raises(ValueError, match="no columns \\['sentiment degree', 'intention detection'"):
        prepare_benchmark("met-meme", release, tmp_path / "out")


@pytest.mark.parametrize(
    "images",
    [
        "Eimages",
        "Eimages/Eimages",
        "Eimages/Eimages/Eimages",  # one level deeper than the Kaggle archive
        "MET-Meme/Eimages/Eimages/Eimages/Eimages",  # no usual place: found by the file names
    ],
)
def test_images_at_any_depth(tmp_path, images):
    release = write_release(tmp_path / "met", images=images)
    out = tmp_path / "out"
    assert cli_main(["data", "prepare", "met-meme", "--source", str(release), "--output", str(out)]) == 0
    dataset = load_benchmark("met-meme", out)
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 7, "validation": 2, "test": 3}
    assert dataset["train"][0]["image"].size == (24, 20)
    assert "No row was dropped as unconvertible (bad input)." in (out / "README.md").read_text()


def test_the_folder_holding_the_images_wins_over_a_usual_one_with_strays(tmp_path):
    release = write_release(tmp_path / "met", images="Eimages/Eimages/Eimages")
    write_image(release / "Eimages" / name(0), seed=99, size=(50, 50))  # a stray copy in a usual place
    dataset = load_benchmark("met-meme", prepare_benchmark("met-meme", release, tmp_path / "out"))
    assert dataset["train"][0]["image"].size == (24, 20)


def test_missing_images_name_the_folders_searched_and_lookalikes(tmp_path):
    release = write_release(tmp_path / "met")
    for path in (release / "Eimages" / "Eimages").iterdir():
        path.rename(path.with_suffix(".png"))
    with pytest.raises(FileNotFoundError) as error:
        prepare_benchmark("met-meme", release, tmp_path / "out")
    message = str(error.value)
    assert "No MET-Meme image folder in" in message and "(such as 'image_ (0).jpg')" in message
    assert "is in 'Eimages/Eimages', 'Eimages', 'Eimages/Eimages/Eimages', 'data/Eimages/Eimages'" in message
    assert "'Eimages/Eimages' (13 files such as 'image_ (0).png')" in message
    assert "Expected layout: `label_E.csv`" in message

    for path in (release / "Eimages" / "Eimages").iterdir():
        path.unlink()
    with pytest.raises(FileNotFoundError, match="No folder below the source holds files that look like its images"):
        prepare_benchmark("met-meme", release, tmp_path / "out")


@pytest.mark.parametrize("value", ["inf", "NaN", "1.5", "-0.5", "1e3", "true", "", "٤(sorrow)"])
def test_odd_label_values_are_bad_rows(tmp_path, value):
    release = write_release(tmp_path / "met", labels=relabel(9, 0, value))
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("met-meme", release, tmp_path / "out")
    # label_E.csv sorts 9 after 0, 1, 10, 11, 12, 2, ... 8: the 13th data row, line 14.
    assert f"label_E.csv:14: sentiment label {value!r} is not of the form 'N(name)' or 'N'" in str(error.value)
    dataset = load_benchmark("met-meme", prepare_benchmark("met-meme", release, tmp_path / "out", skip_bad=True))
    assert dataset["test"]["id"] == ["10", "11"]


@pytest.mark.parametrize("value", ["inf", "1.5", "-1", "true"])
def test_odd_binary_label_values_are_bad_rows(tmp_path, value):
    release = write_release(tmp_path / "met", labels=relabel(3, 4, value))
    with pytest.raises(BadInputError, match=f"label_E.csv:8: metaphor label {re.escape(repr(value))} is not of"):
        prepare_benchmark("met-meme", release, tmp_path / "out")


def reencode(folder, bom, encoding):
    for path in folder.glob("*.csv"):
        path.write_bytes(bom + path.read_text(encoding="utf-8").encode(encoding))


@pytest.mark.parametrize(
    "bom, encoding",
    [(b"", "utf-16"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"), (b"", "utf-8-sig")],
)
def test_utf16_and_utf8_bom_csv_files(tmp_path, bom, encoding):
    release = write_release(tmp_path / "met")
    reencode(release, bom, encoding)
    dataset = load_benchmark("met-meme", prepare_benchmark("met-meme", release, tmp_path / "out"))
    assert dataset["train"]["text"] == [TEXTS[number] for number in range(7)]
    assert dataset["train"]["sentiment"] == [3, 0, 6, 1, 2, 4, 5]


def test_text_file_problems_name_the_physical_line(tmp_path):
    release = write_release(tmp_path / "met")
    # E_text.csv: the header, then 12 rows over 15 lines (10's text spans 3 lines, 4's 2); a blank line; a bad row.
    with open(release / "E_text.csv", "a", newline="") as file:
        file.write("\r\nimage_ (x).jpg,a bad name\r\n")
    reencode(release, codecs.BOM_UTF16_LE, "utf-16-le")
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("met-meme", release, tmp_path / "out")
    assert "E_text.csv:18: image name 'image_ (x).jpg' is not of the form" in str(error.value)
