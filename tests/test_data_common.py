"""The readers and helpers every converter shares (`dataset_scripts/common.py`)."""

import codecs
import csv
import logging
import math
import os
import re

import pytest
from data_fixtures import write_image

from memekit.dataset_scripts.common import (
    LabelError,
    class_index,
    decode_text,
    locate_image_folder,
    read_csv,
    read_jsonl,
)


TEXT = "name,text\r\nimg_1.png,café “quoted” 🌈\r\n"


@pytest.mark.parametrize(
    "bom, encoding",
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_byte_order_marks_select_the_encoding_and_are_dropped(bom, encoding):
    assert decode_text(bom + TEXT.encode(encoding)) == TEXT


def test_python_utf16_codec_output_decodes():
    assert decode_text(TEXT.encode("utf-16")) == TEXT  # the platform's byte order, with its BOM


def test_broken_utf16_is_replaced_with_a_warning(caplog):
    data = codecs.BOM_UTF16_LE + "ok".encode("utf-16-le") + b"\x00\xd8"  # a lone high surrogate
    with caplog.at_level(logging.WARNING):
        assert decode_text(data, name="labels.csv") == "ok\ufffd"
    assert "labels.csv starts with a UTF-16-LE byte-order mark" in caplog.text


def test_without_a_mark_utf8_then_line_by_line_fallback():
    assert decode_text("café\n".encode() + "naïve\n".encode("cp1252")) == "café\nnaïve\n"
    assert decode_text(b"\xef\xbb\xbf" + "café\n".encode("cp1252")) == "café\n"


def test_csv_rows_carry_their_physical_line(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(
        b"name , label\r\n"  # 1: header (names are stripped)
        b"a,0\r\n"  # 2
        b'b,"two\r\nlines"\r\n'  # 3-4: a quoted field over two lines
        b"\r\n"  # 5: blank, skipped
        b"c,1\r\n"  # 6
        b'd,"three\n\nlines"\n'  # 7-9: LF line ends, a blank line inside the quotes
        b"\n"  # 10: blank
        b"\n"  # 11: blank
        b"e\r\n"  # 12: a short row
        b"f,2,extra\r\n"  # 13: a long row
    )
    rows = read_csv(path)
    assert [line for line, _ in rows] == [2, 3, 6, 7, 12, 13]
    assert rows[1][1] == {"name": "b", "label": "two\r\nlines"}
    assert rows[3][1]["label"] == "three\n\nlines"
    assert rows[4][1] == {"name": "e", "label": None}
    assert rows[5][1] == {"name": "f", "label": "2"}


def test_csv_line_numbers_in_a_utf16_file(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(codecs.BOM_UTF16_BE + 'name,label\n\na,"x\ny"\nb,1\n'.encode("utf-16-be"))
    assert read_csv(path) == [(3, {"name": "a", "label": "x\ny"}), (5, {"name": "b", "label": "1"})]


def test_csv_that_the_csv_module_cannot_read_names_the_line(tmp_path):
    path = tmp_path / "file.csv"
    path.write_text("name,text\na,short\nb,far too long a field\n")
    limit = csv.field_size_limit(10)
    try:
        with pytest.raises(ValueError, match="file.csv', line 3: not readable as CSV"):
            read_csv(path)
    finally:
        csv.field_size_limit(limit)


def test_jsonl_line_numbers_are_physical(tmp_path):
    path = tmp_path / "file.jsonl"
    path.write_bytes(
        b'{"id": 1}\r\n'  # 1
        b"\r\n"  # 2: blank
        b'{"id": 2, "text": "a\xe2\x80\xa8b"}\r\n'  # 3: a raw U+2028 inside a string is not a line end
        b"   \n"  # 4: blank
        b"[1, 2]\n"  # 5: not an object
        b'{"id": 3, "label": NaN}\n'  # 6: NaN is read (and refused by the label checks)
        b'{"id": \n'  # 7: broken
    )
    rows, problems = read_jsonl(path)
    assert [line for line, _ in rows] == [1, 3, 6]
    assert rows[1][1]["text"] == "a\u2028b"
    assert math.isnan(rows[2][1]["label"])
    assert [str(problem) for problem in problems] == [
        "file.jsonl:5: expected a JSON object, got list",
        "file.jsonl:7: not valid JSON (Expecting value)",
    ]


@pytest.mark.parametrize(
    "value, strings, expected", [(0, False, 0), (2, False, 2), (1.0, False, 1), ("1", True, 1), (" 2.0 ", True, 2)]
)
def test_class_index_accepts_integers(value, strings, expected):
    assert class_index(value, "stance label", 3, strings=strings) == expected


@pytest.mark.parametrize(
    "value, strings, fragment",
    [
        (True, False, "stance label True is not a class index (a boolean"),
        (float("nan"), False, "stance label nan is not a class index (not a finite number"),
        (float("inf"), False, "stance label inf is not a class index (not a finite number"),
        (1.5, False, "stance label 1.5 is not a class index (not an integer"),
        (-1, False, "stance label -1 outside 0..2"),
        (3, False, "stance label 3 outside 0..2"),
        (3.0, False, "stance label 3.0 outside 0..2"),
        ("1", False, "stance label '1' is not a class index (a string"),
        (None, False, "stance label None is not a class index (missing"),
        ([1], False, "stance label [1] is not a class index (a list"),
        ("inf", True, "stance label 'inf' is not a class index (not an integer"),
        ("NaN", True, "stance label 'NaN' is not a class index"),
        ("1.5", True, "stance label '1.5' is not a class index"),
        ("-0.5", True, "stance label '-0.5' is not a class index"),
        ("-1", True, "stance label '-1' is not a class index"),
        ("1e3", True, "stance label '1e3' is not a class index"),
        ("true", True, "stance label 'true' is not a class index"),
        ("٣", True, "stance label '٣' is not a class index"),  # an Arabic-Indic digit: int() would accept it
        ("7", True, "stance label '7' outside 0..2"),
    ],
)
def test_class_index_refuses_everything_else(value, strings, fragment):
    with pytest.raises(LabelError, match=re.escape(fragment)):
        class_index(value, "stance label", 3, strings=strings)


NAMES = {"a.jpg", "b.jpg", "c.jpg"}


def images(folder, names=NAMES):
    for index, name in enumerate(sorted(names)):
        write_image(folder / name, seed=index)


def locate(source, candidates=("images", "data/images"), names=NAMES, **kwargs):
    return locate_image_folder(source, candidates, names, "image folder", "`images/` (test layout)", **kwargs)


def test_a_candidate_holding_every_image_is_taken(tmp_path):
    images(tmp_path / "data/images")
    images(tmp_path / "elsewhere/deeper")
    assert locate(tmp_path) == tmp_path / "data/images"


def test_a_candidate_that_merely_exists_is_not_taken(tmp_path):
    (tmp_path / "images" / "images").mkdir(parents=True)  # the archive's own folder, holding only the next one
    images(tmp_path / "images/images/images")
    assert locate(tmp_path) == tmp_path / "images/images/images"


def test_the_folder_holding_most_images_wins(tmp_path):
    images(tmp_path / "images", {"a.jpg"})  # a stray copy in a usual place
    images(tmp_path / "x/y/z/pictures")
    images(tmp_path / "x/pictures", {"a.jpg", "b.jpg"})
    assert locate(tmp_path) == tmp_path / "x/y/z/pictures"


def test_ties_prefer_a_candidate_then_the_shallowest(tmp_path):
    images(tmp_path / "deep/er/pictures", {"a.jpg", "b.jpg"})
    images(tmp_path / "top", {"b.jpg", "c.jpg"})
    assert locate(tmp_path) == tmp_path / "top"
    images(tmp_path / "data/images", {"a.jpg", "c.jpg"})
    assert locate(tmp_path) == tmp_path / "data/images"


def test_hidden_folders_macos_metadata_and_outside_candidates_are_ignored(tmp_path):
    source = tmp_path / "release"
    images(source / ".cache/images")
    images(source / "__MACOSX/images")
    images(tmp_path / "images")  # next to the source: a candidate "../images" must not reach it
    images(source / "real", {"a.jpg"})
    assert locate(source, candidates=("../images", "images")) == source / "real"


def test_links_to_folders_are_not_followed(tmp_path):
    images(tmp_path / "outside")
    (tmp_path / "release").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "release" / "link")
    with pytest.raises(FileNotFoundError, match="No folder below the source holds files that look like its images"):
        locate(tmp_path / "release")


def test_error_names_the_candidates_and_lookalike_folders(tmp_path):
    images(tmp_path / "converted", {"a.png", "b.png"})
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not an image")
    with pytest.raises(FileNotFoundError) as error:
        locate(tmp_path, names={"a.jpg", "b.jpg"}, name_pattern=re.compile(r"[a-z]\.\w+"))
    message = str(error.value)
    assert "No image folder in" in message and "none of the 2 images the annotations name (such as 'a.jpg')" in message
    assert "is in 'images', 'data/images' or any other folder below the source" in message
    assert "'converted' (2 files such as 'a.png')" in message and "'other'" not in message
    assert "Unpack the release's images into the source folder (at any depth). Expected layout: `images/`" in message


def test_error_by_default_looks_for_files_of_the_same_suffix(tmp_path):
    images(tmp_path / "photos", {"x.JPG"})
    with pytest.raises(FileNotFoundError, match="'photos' \\(1 files such as 'x.JPG'\\)"):
        locate(tmp_path)


def test_no_names_needs_an_existing_candidate(tmp_path):
    (tmp_path / "data/images").mkdir(parents=True)
    assert locate(tmp_path, names=set()) == tmp_path / "data/images"
    with pytest.raises(FileNotFoundError, match="No image folder in .*looked for 'nowhere'"):
        locate(tmp_path, candidates=("nowhere",), names=set())
