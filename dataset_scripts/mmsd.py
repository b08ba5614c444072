"""MMSD (Cai et al., ACL 2019) and MMSD2.0 (Qin et al., Findings of ACL 2023): English tweets with an image, labelled
sarcastic or not. MMSD2.0 is MMSD with its spurious cues removed and unreasonable labels re-annotated.

MMSD2.0 release: `text_json_final/{train,valid,test}.json` (also under `data/`), each one JSON array of objects
`{"image_id": 915657464401580032, "text": "...", "label": 1}`. MMSD release: `text/{train,valid2,test2}.txt` (or the
files without `text/`), one Python list literal per line, `['id', 'text', label]` in train and
`['id', 'text', hashtag label, annotator label]` in valid2/test2. Both: the images `{id}.jpg` in one folder, found
at any depth below the source by the names the texts expect (`dataset_image/` is the usual one). A label is an integer
0 or 1; a float with an integral value (1.0) is read as that integer; a boolean, a string, NaN or another float is a
bad row.
"""

import ast
import json
import re
from pathlib import Path

from .common import (
    Benchmark,
    Example,
    LabelError,
    Problem,
    ReadOptions,
    ReadResult,
    Task,
    class_index,
    find_path,
    locate_image_folder,
    read_text,
    text_or_empty,
)


_IMAGE_FOLDERS = ("dataset_image", "data/dataset_image", "images", "image")
_IMAGES = (
    "the images `{id}.jpg` in one folder, at any depth (usually `dataset_image/`, `data/dataset_image/`, `images/` or "
    "`image/`)"
)
_IMAGE_NAME = re.compile(r"[0-9]+\.(?:jpe?g|png)", re.IGNORECASE)
LAYOUT_MMSD2 = f"`text_json_final/{{train,valid,test}}.json` (or under `data/`) and {_IMAGES}."
LAYOUT_MMSD = f"`text/train.txt`, `text/valid2.txt` and `text/test2.txt` (or without `text/`) and {_IMAGES}."
TASKS = (
    Task(
        "sarcasm",
        ("not sarcastic", "sarcastic"),
        ("accuracy", "f1", "macro_f1"),
        description=(
            "Most MMSD and MMSD2.0 papers report accuracy with the precision, recall and F1 of the sarcastic class "
            "(some also macro-averaged scores)."
        ),
    ),
)
# Cai et al.'s code drops every post whose whitespace-separated tokens include one of these words.
FILTER_WORDS = frozenset(
    ("sarcasm", "sarcastic", "reposting", "<url>", "joke", "humour", "humor", "jokes", "irony", "ironic", "exgag")
)
_MMSD2_FILES = {"train": "train.json", "validation": "valid.json", "test": "test.json"}
# File of each split, and the number of elements of its lists.
_MMSD_FILES = {"train": ("train.txt", 3), "validation": ("valid2.txt", 4), "test": ("test2.txt", 4)}
_SHAPES = {3: "['id', 'text', label]", 4: "['id', 'text', hashtag label, annotator label]"}


def _tweet_id(value: object) -> str:
    """The tweet id as a decimal string; a float would have lost the last digits of an 18-digit id."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return value.strip()
    if isinstance(value, float):
        raise ValueError(f"image id {value!r} is a float, not an integer: its digits are lost")
    raise ValueError(f"image id {value!r} is not a tweet id (digits)")


def _sarcasm(value: object) -> int:
    """0 or 1 from an integer (or an integral float such as 1.0); LabelError naming the value otherwise."""
    if value is None:
        raise LabelError("sarcasm label missing")
    return class_index(value, "sarcasm label", 2)


def _place_images(source: Path, result: ReadResult, layout: str) -> None:
    """Put each example's image, read as a bare file name, in the image folder that holds them."""
    names = {example.image.name for example in result.examples}
    images = locate_image_folder(source, _IMAGE_FOLDERS, names, "image folder", layout, name_pattern=_IMAGE_NAME)
    for example in result.examples:
        example.image = images / example.image.name


def read_mmsd2(source: Path, options: ReadOptions) -> ReadResult:
    folder = find_path(source, ["text_json_final", "data/text_json_final"], "MMSD2.0 text folder", LAYOUT_MMSD2)
    result = ReadResult(
        notes=[
            "`valid.json` is the `validation` split.",
            "The id is the tweet id (`image_id`, a JSON integer) written out in full; the image is `{id}.jpg`.",
        ]
    )
    for split, name in _MMSD2_FILES.items():
        path = find_path(folder, [name], f"MMSD2.0 {split} file", LAYOUT_MMSD2)
        try:
            rows = json.loads(read_text(path))  # integers stay exact Python ints
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{str(path)!r} is not valid JSON ({error.msg}, line {error.lineno} column {error.colno}); it should "
                "be one JSON array of {image_id, text, label} objects: download it again from the MMSD2.0 repository."
            ) from None
        if not isinstance(rows, list):
            raise ValueError(
                f"{str(path)!r} holds a JSON {type(rows).__name__}, not an array of {{image_id, text, label}} "
                "objects; download it again from the MMSD2.0 repository."
            )
        for index, row in enumerate(rows):
            origin = f"{path.name}:#{index}"  # index in the JSON array (from 0)
            if not isinstance(row, dict):
                result.problems.append(Problem(origin, f"expected a JSON object, got {type(row).__name__}"))
                continue
            try:
                tweet, label = _tweet_id(row.get("image_id")), _sarcasm(row.get("label"))
            except ValueError as error:
                result.problems.append(Problem(origin, str(error)))
                continue
            text = text_or_empty(row.get("text"))
            result.examples.append(Example(tweet, split, Path(f"{tweet}.jpg"), text, {"sarcasm": label}, origin))
    _place_images(source, result, LAYOUT_MMSD2)
    return result


def read_mmsd(source: Path, options: ReadOptions) -> ReadResult:
    result = ReadResult(
        notes=[
            "`valid2.txt` is the `validation` split and `test2.txt` the `test` split.",
            "The id is the tweet id; the image is `{id}.jpg`. Texts are kept as written in the release (tokenised, "
            "with its `<user>`, `<url>`, `<num>` and `emoji_N` placeholders).",
        ]
    )
    parsed, dropped, disagree = {}, {}, {}
    for split, (name, size) in _MMSD_FILES.items():
        path = find_path(source, [f"text/{name}", name], f"MMSD {split} file", LAYOUT_MMSD)
        parsed[split] = dropped[split] = disagree[split] = 0
        # Split on newlines only: str.splitlines would also split on characters such as U+2028 inside a text.
        for number, line in enumerate(read_text(path).split("\n"), start=1):
            if not line.strip():
                continue
            origin = f"{path.name}:{number}"
            try:
                row = ast.literal_eval(line.strip())  # a literal only: never eval
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as error:
                result.problems.append(Problem(origin, f"not a Python list literal ({type(error).__name__})"))
                continue
            if not isinstance(row, list) or len(row) != size:
                result.problems.append(Problem(origin, f"expected a list {_SHAPES[size]}, got {row!r:.80}"))
                continue
            if not isinstance(row[1], str):
                result.problems.append(Problem(origin, f"the text {row[1]!r:.80} is not a string"))
                continue
            parsed[split] += 1
            if not FILTER_WORDS.isdisjoint(row[1].split()):
                dropped[split] += 1
                continue
            try:
                # valid2/test2: the last element is the annotator's label, the one Cai et al.'s code uses.
                tweet, label = _tweet_id(row[0]), _sarcasm(row[-1])
            except ValueError as error:
                result.problems.append(Problem(origin, str(error)))
                continue
            if size == 4 and row[-2] != row[-1]:
                disagree[split] += 1
            result.examples.append(Example(tweet, split, Path(f"{tweet}.jpg"), row[1], {"sarcasm": label}, origin))
    _place_images(source, result, LAYOUT_MMSD)
    counts = ", ".join(f"{split} {dropped[split]} of {parsed[split]}" for split in _MMSD_FILES)
    result.notes.append(
        "As in Cai et al.'s code, posts whose whitespace-separated tokens include any of "
        f"{', '.join(f'`{word}`' for word in sorted(FILTER_WORDS))} are dropped: {counts}."
    )
    result.notes.append(
        "In `valid2.txt` and `test2.txt` the label is the last element, a human annotator's, as in Cai et al.'s "
        "code; the hashtag-derived label before it is not kept. The two differ on "
        f"{disagree['validation']} validation and {disagree['test']} test posts kept."
    )
    return result


_TERMS = (
    "The release states no licence. The tweet texts and images were collected from Twitter and are shared by the "
    "authors for research; use them for research only. The tweets remain subject to the terms of Twitter/X, which "
    "limit how their content may be redistributed."
)

BENCHMARKS = (
    Benchmark(
        name="mmsd2",
        pretty_name="MMSD2.0",
        tasks=TASKS,
        description=(
            "MMSD2.0: the MMSD tweets (English text with an image) with the spurious cues of MMSD (hashtags, emoji) "
            "removed from the texts and unreasonable non-sarcastic labels re-annotated; 19,816 / 2,410 / 2,409 "
            "posts labelled sarcastic or not."
        ),
        source_layout=LAYOUT_MMSD2,
        distribution=(
            "the texts in `data/text_json_final/` of https://github.com/JoeYing1019/MMSD2.0; the images are MMSD's, "
            "the Google Drive archives linked from the README of "
            "https://github.com/headacheboy/data-of-multimodal-sarcasm-detection (and from MMSD2.0's README), "
            "unzipped into `data/dataset_image/`"
        ),
        license="other",
        terms=_TERMS,
        citation="""
@inproceedings{qin2023mmsd2,
  title = {{MMSD2.0}: Towards a Reliable Multi-modal Sarcasm Detection System},
  author = {Qin, Libo and Huang, Shijue and Chen, Qiguang and Cai, Chenran and Zhang, Yudi and Liang, Bin and
    Che, Wanxiang and Xu, Ruifeng},
  booktitle = {Findings of the Association for Computational Linguistics: ACL 2023},
  pages = {10834--10845},
  year = {2023},
  publisher = {Association for Computational Linguistics},
  doi = {10.18653/v1/2023.findings-acl.689}
}""",
        read=read_mmsd2,
    ),
    Benchmark(
        name="mmsd",
        pretty_name="MMSD",
        tasks=TASKS,
        description=(
            "MMSD, the multimodal sarcasm detection benchmark of Cai et al.: English tweets with an image, labelled "
            "sarcastic (collected by sarcasm hashtags) or not; 19,816 / 2,410 / 2,409 posts after the keyword filter "
            "of Cai et al.'s code. Its texts keep cues that MMSD2.0 removed."
        ),
        source_layout=LAYOUT_MMSD,
        distribution=(
            "the texts in `text/` of https://github.com/headacheboy/data-of-multimodal-sarcasm-detection; the images "
            "as the Google Drive archives linked from its README (the same archives MMSD2.0 uses)"
        ),
        license="other",
        terms=_TERMS,
        citation="""
@inproceedings{cai2019multimodal,
  title = {Multi-Modal Sarcasm Detection in {Twitter} with Hierarchical Fusion Model},
  author = {Cai, Yitao and Cai, Huiyu and Wan, Xiaojun},
  booktitle = {Proceedings of the 57th Annual Meeting of the Association for Computational Linguistics},
  pages = {2506--2515},
  year = {2019},
  publisher = {Association for Computational Linguistics},
  doi = {10.18653/v1/P19-1239}
}""",
        read=read_mmsd,
    ),
)
