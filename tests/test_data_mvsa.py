import random
from collections import Counter

import pytest
from data_fixtures import write_image, write_truncated_jpeg

from memekit.data import BadInputError, load_benchmark, prepare_benchmark


POS, NEU, NEG = "positive", "neutral", "negative"
CLASS = {POS: 0, NEU: 1, NEG: 2}

# MVSA-Single: (text label, image label, the post's label or None when the rule drops it, how many posts).
SINGLE_SPEC = [
    (POS, POS, POS, 4),
    (NEU, POS, POS, 3),
    (POS, NEU, POS, 3),
    (NEU, NEU, NEU, 10),
    (NEG, NEG, NEG, 4),
    (NEU, NEG, NEG, 3),
    (NEG, NEU, NEG, 3),
    (POS, NEG, None, 2),
    (NEG, POS, None, 1),
]
# MVSA-Multiple: (three annotators' `text,image`, the post's label or None, how many posts).
MULTIPLE_SPEC = [
    ((f"{POS},{POS}", f"{POS},{POS}", f"{POS},{POS}"), POS, 5),
    ((f"{POS},{NEU}", f"{POS},{NEU}", f"{NEU},{NEU}"), POS, 5),  # text positive 2 of 3, image neutral
    ((f"{NEU},{NEG}", f"{NEU},{NEG}", f"{POS},{NEU}"), NEG, 5),  # text neutral, image negative 2 of 3
    ((f"{NEG},{NEG}", f"{NEU},{NEG}", f"{NEG},{POS}"), NEG, 4),
    ((f"{NEU},{NEU}", f"{NEU},{POS}", f"{POS},{NEU}"), NEU, 10),
    ((f"{POS},{NEG}", f"{NEU},{NEU}", f"{NEG},{POS}"), None, 1),  # no majority for the text
    ((f"{POS},{POS}", f"{POS},{NEU}", f"{NEU},{NEG}"), None, 2),  # no majority for the image
    ((f"{POS},{NEG}", f"{POS},{NEG}", f"{NEU},{NEU}"), None, 1),  # positive text, negative image
]
# Awkward tweets, written as bytes to data/{id}.txt, and the text expected in the dataset (ids of kept posts).
TEXTS = {
    "1": (b"None\n", "None"),
    "2": (b"NaN", "NaN"),
    "3": (b"null\r\n", "null"),
    "4": (b"", ""),
    "5": ("café – “quoted”\n".encode("cp1252"), "café – “quoted”"),
    "6": (b"a tweet\nover two lines  \r\n", "a tweet\nover two lines"),
    "7": ("rainbow 🌈 #pride\n".encode(), "rainbow 🌈 #pride"),
    "8": (b"  indented tweet \t\n", "  indented tweet"),
}


def single_lines():
    """`ID<TAB>text,image` lines and the expected label of every kept post."""
    lines, expected = [], {}
    for text, image, label, count in SINGLE_SPEC:
        for _ in range(count):
            post_id = str(len(lines) + 1)
            lines.append(f"{post_id}\t{text},{image}")
            if label is not None:
                expected[post_id] = CLASS[label]
    return lines, expected


def multiple_lines():
    lines, expected = [], {}
    for annotations, label, count in MULTIPLE_SPEC:
        for _ in range(count):
            post_id = str(len(lines) + 1)
            lines.append("\t".join((post_id, *annotations)))
            if label is not None:
                expected[post_id] = CLASS[label]
    return lines, expected


def write_release(root, lines, header="ID\ttext,image", newline="\r\n"):
    """`labelResultAll.txt` with these lines, and an image and a tweet in `data/` for every integer id."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    content = newline.join([header, *lines] if header is not None else lines) + newline
    (root / "labelResultAll.txt").write_bytes(content.encode())
    for line in lines:
        post_id = line.split("\t")[0]
        if not post_id.isdigit() or (root / "data" / f"{post_id}.jpg").exists():
            continue
        write_image(root / "data" / f"{post_id}.jpg", seed=int(post_id))
        data, _ = TEXTS.get(post_id, (f"invented tweet number {post_id} #mvsa\n".encode(), None))
        (root / "data" / f"{post_id}.txt").write_bytes(data)
    return root


def rows_by_id(dataset):
    return {row["id"]: {**row, "split": split} for split, rows in dataset.items() for row in rows}


def splits_by_id(dataset):
    return {row_id: row["split"] for row_id, row in rows_by_id(dataset).items()}


@pytest.fixture
def single(tmp_path):
    return write_release(tmp_path / "MVSA_Single", single_lines()[0])


@pytest.fixture
def multiple(tmp_path):
    header = "ID\ttext,image\ttext,image\ttext,image"
    return write_release(tmp_path / "MVSA_Multiple", multiple_lines()[0], header=header, newline="\n")


def test_single_labels_texts_and_splits(single, tmp_path):
    dataset = load_benchmark("mvsa-single", prepare_benchmark("mvsa-single", single, tmp_path / "out"))
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 24, "validation": 3, "test": 3}
    assert dataset["train"].features["sentiment"].names == [POS, NEU, NEG]
    rows = rows_by_id(dataset)
    _, expected = single_lines()
    assert {row_id: row["sentiment"] for row_id, row in rows.items()} == expected
    assert {"31", "32", "33"}.isdisjoint(rows)  # positive with negative: dropped
    assert {row_id: rows[row_id]["text"] for row_id in TEXTS} == {row_id: text for row_id, (_, text) in TEXTS.items()}
    assert rows["20"]["text"] == "invented tweet number 20 #mvsa"
    assert rows["1"]["image"].size == (24, 20)

    card = (tmp_path / "out" / "README.md").read_text()
    assert "Label rule (Xu & Mao, MultiSentiNet, CIKM 2017)" in card
    assert "positive with negative drops the post (3 posts dropped)" in card
    assert "majority" not in card
    assert "the 30 posts kept are split 8:1:1 within each class" in card
    assert "(seed 0): train 24, validation 3, test 3" in card
    assert "num_examples: 24" in card and "No row was dropped as unconvertible (bad input)." in card


def test_multiple_majority_vote_then_label_rule(multiple, tmp_path):
    dataset = load_benchmark("mvsa-multiple", prepare_benchmark("mvsa-multiple", multiple, tmp_path / "out"))
    _, expected = multiple_lines()
    assert len(expected) == 29
    assert {row_id: row["sentiment"] for row_id, row in rows_by_id(dataset).items()} == expected
    # per class: positive 10 -> 8/1/1, neutral 10 -> 8/1/1, negative 9 -> 7/1/1
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 23, "validation": 3, "test": 3}
    card = (tmp_path / "out" / "README.md").read_text()
    assert (
        "Label rule (Xu & Mao, MultiSentiNet, CIKM 2017): first each modality's label is the majority vote of the 3 "
        "annotators (at least 2 agree; 3 posts without a majority for the text or the image dropped); then equal"
    ) in card
    assert "positive with negative drops the post (1 posts dropped)" in card
    assert "the 29 posts kept are split" in card and "train 23, validation 3, test 3" in card


def test_split_is_seeded_stratified_and_independent_of_line_order(tmp_path):
    lines, expected = single_lines()
    release = write_release(tmp_path / "a", lines)
    first = splits_by_id(load_benchmark("mvsa-single", prepare_benchmark("mvsa-single", release, tmp_path / "o1")))
    again = splits_by_id(load_benchmark("mvsa-single", prepare_benchmark("mvsa-single", release, tmp_path / "o2")))
    assert first == again

    shuffled = list(lines)
    random.Random(5).shuffle(shuffled)
    assert shuffled != lines
    other_order = write_release(tmp_path / "b", shuffled)
    out = prepare_benchmark("mvsa-single", other_order, tmp_path / "o3")
    assert splits_by_id(load_benchmark("mvsa-single", out)) == first

    out = prepare_benchmark("mvsa-single", release, tmp_path / "o4", seed=1)
    reseeded = splits_by_id(load_benchmark("mvsa-single", out))
    assert reseeded != first and Counter(reseeded.values()) == Counter(first.values())
    assert "(seed 1): train 24" in (tmp_path / "o4" / "README.md").read_text()

    for splits in (first, reseeded):
        for label in CLASS.values():
            counts = Counter(split for row_id, split in splits.items() if expected[row_id] == label)
            assert counts == {"train": 8, "validation": 1, "test": 1}


def test_split_proportions_round_per_class(multiple, tmp_path):
    splits = splits_by_id(
        load_benchmark("mvsa-multiple", prepare_benchmark("mvsa-multiple", multiple, tmp_path / "o"))
    )
    _, expected = multiple_lines()
    for label in CLASS.values():
        members = [row_id for row_id in expected if expected[row_id] == label]
        counts = Counter(splits[row_id] for row_id in members)
        for split, share in (("validation", 0.1), ("test", 0.1)):
            assert abs(counts[split] - share * len(members)) <= 0.5
        assert counts["train"] == len(members) - counts["validation"] - counts["test"]


@pytest.mark.parametrize("folder", ["", "MVSA_Single", "MVSA-Single", "MVSA"])
def test_layout_variants(tmp_path, folder):
    source = tmp_path / "download"
    write_release(source / folder if folder else source, single_lines()[0])
    dataset = load_benchmark("mvsa-single", prepare_benchmark("mvsa-single", source, tmp_path / "out"))
    assert sum(len(rows) for rows in dataset.values()) == 30


def test_multiple_in_a_subfolder_without_header(tmp_path):
    source = tmp_path / "download"
    write_release(source / "MVSA-Multiple", multiple_lines()[0], header=None)
    dataset = load_benchmark("mvsa-multiple", prepare_benchmark("mvsa-multiple", source, tmp_path / "out"))
    assert sum(len(rows) for rows in dataset.values()) == 29


def test_label_case_and_spaces_are_tolerated(tmp_path):
    lines, expected = single_lines()
    lines[0] = "1\t Positive , NEUTRAL"
    release = write_release(tmp_path / "MVSA", lines)
    dataset = load_benchmark("mvsa-single", prepare_benchmark("mvsa-single", release, tmp_path / "out"))
    assert rows_by_id(dataset)["1"]["sentiment"] == CLASS[POS]


@pytest.mark.parametrize(
    "index, line, removed, fragment",
    [
        (0, "1\thappy,positive", None, "label 'happy' is not one of ['positive', 'neutral', 'negative']"),
        (1, "2\tpositive", None, "annotation 'positive' is not `text_label,image_label`"),
        (2, "3\tpositive;neutral", None, "annotation 'positive;neutral' is not"),
        (3, "4", None, "expected 1 tab-separated `text,image` annotations, got 0"),
        (
            4,
            "5\tpositive,positive\tpositive,positive\tneutral,positive",
            None,
            "got 3 (is this MVSA-Multiple? convert it as mvsa-multiple)",
        ),
        (5, "6a\tpositive,positive", None, "id '6a' is not an integer"),
        (8, "1\tpositive,positive", None, "duplicate id '1' (first at labelResultAll.txt:2)"),
        (None, None, "7.txt", "7.txt' not found"),
        (None, None, "8.jpg", "8.jpg' not found"),
    ],
)
def test_bad_rows_stop_the_conversion_and_are_named(tmp_path, index, line, removed, fragment):
    lines = single_lines()[0]
    if index is not None:
        lines[index] = line
    root = write_release(tmp_path / "MVSA_Single", lines)
    if removed:
        (root / "data" / removed).unlink()
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("mvsa-single", root, tmp_path / "out")
    assert fragment in str(error.value) and "labelResultAll.txt:" in str(error.value)
    assert not (tmp_path / "out").exists()

    prepare_benchmark("mvsa-single", root, tmp_path / "out", skip_bad=True)
    dataset = load_benchmark("mvsa-single", tmp_path / "out")
    assert sum(len(rows) for rows in dataset.values()) == 29
    card = (tmp_path / "out" / "README.md").read_text()
    assert "1 rows could not be converted and were dropped" in card and fragment in card


def test_empty_and_truncated_images_in_multiple(multiple, tmp_path):
    (multiple / "data" / "1.jpg").write_bytes(b"")
    write_truncated_jpeg(multiple / "data" / "2.jpg")
    with pytest.raises(BadInputError, match="^2 rows") as error:
        prepare_benchmark("mvsa-multiple", multiple, tmp_path / "out")
    assert "labelResultAll.txt:2: image data/1.jpg cannot be decoded" in str(error.value)
    assert "labelResultAll.txt:3: image data/2.jpg cannot be decoded" in str(error.value)

    prepare_benchmark("mvsa-multiple", multiple, tmp_path / "out", skip_bad=True)
    rows = rows_by_id(load_benchmark("mvsa-multiple", tmp_path / "out"))
    assert len(rows) == 27 and {"1", "2"}.isdisjoint(rows)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "2 rows could not be converted and were dropped" in card
    assert "the 29 posts kept are split" in card  # split before the images are checked, so it does not move


def test_missing_label_file_and_post_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="labelResultAll.txt.*Expected layout"):
        prepare_benchmark("mvsa-single", tmp_path / "empty", tmp_path / "out")
    (tmp_path / "no_data" / "MVSA_Multiple").mkdir(parents=True)
    (tmp_path / "no_data" / "MVSA_Multiple" / "labelResultAll.txt").write_text("ID\ttext,image\n")
    with pytest.raises(FileNotFoundError, match="No post folder .*'data'"):
        prepare_benchmark("mvsa-multiple", tmp_path / "no_data", tmp_path / "out")


@pytest.mark.parametrize("value", ["inf", "NaN", "1.5", "-0.5", "1e3", "true", "1", ""])
def test_odd_label_values_are_bad_rows(tmp_path, value):
    lines = single_lines()[0]
    lines[2] = f"3\tpositive,{value}"
    root = write_release(tmp_path / "MVSA_Single", lines)
    with pytest.raises(BadInputError, match="^1 rows") as error:
        prepare_benchmark("mvsa-single", root, tmp_path / "out")
    assert f"labelResultAll.txt:4: label {value!r} is not one of" in str(error.value)
    dataset = load_benchmark("mvsa-single", prepare_benchmark("mvsa-single", root, tmp_path / "out", skip_bad=True))
    assert "3" not in rows_by_id(dataset) and len(rows_by_id(dataset)) == 29


def test_blank_lines_count_in_line_numbers(tmp_path):
    lines = single_lines()[0]
    lines[3] = "4\thappy,positive"
    root = write_release(tmp_path / "MVSA_Single", [*lines[:2], "", "  ", *lines[2:]])
    with pytest.raises(BadInputError, match="labelResultAll.txt:7: label 'happy'"):
        prepare_benchmark("mvsa-single", root, tmp_path / "out")


@pytest.mark.parametrize("folder", ["data/data", "data/MVSA_Single/data"])
def test_post_folder_nested_deeper(tmp_path, folder):
    root = write_release(tmp_path / "MVSA_Single", single_lines()[0])
    (root / "data").rename(tmp_path / "moved")
    (root / folder).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "moved").rename(root / folder)
    dataset = load_benchmark("mvsa-single", prepare_benchmark("mvsa-single", root, tmp_path / "out"))
    rows = rows_by_id(dataset)
    assert len(rows) == 30 and rows["5"]["text"] == "café – “quoted”"
    (root / folder / "7.txt").unlink()
    with pytest.raises(BadInputError, match=f"text file '{folder}/7.txt' not found"):
        prepare_benchmark("mvsa-single", root, tmp_path / "out2")


def test_single_and_multiple_side_by_side(tmp_path):
    source = tmp_path / "download"
    write_release(source / "MVSA_Single", single_lines()[0])
    header = "ID\ttext,image\ttext,image\ttext,image"
    write_release(source / "MVSA_Multiple", multiple_lines()[0], header=header)
    (source / "MVSA_Single" / "data").rename(source / "MVSA_Single" / "posts")  # not the usual name
    (source / "MVSA_Multiple" / "data" / "5.txt").write_text("a Multiple tweet")
    dataset = load_benchmark("mvsa-single", prepare_benchmark("mvsa-single", source, tmp_path / "out"))
    assert sum(len(rows) for rows in dataset.values()) == 30
    # The images come from MVSA_Single's folder, never from MVSA_Multiple's (their ids overlap).
    assert rows_by_id(dataset)["5"]["text"] == "café – “quoted”"


def test_no_post_folder_names_what_was_searched(tmp_path):
    root = write_release(tmp_path / "MVSA_Single", single_lines()[0])
    for path in (root / "data").glob("*.jpg"):
        path.unlink()
    with pytest.raises(FileNotFoundError, match="No post folder in .*none of the 30 images .*such as '1.jpg'.*'data'"):
        prepare_benchmark("mvsa-single", root, tmp_path / "out")
