"""MET-Meme (Xu et al., SIGIR 2022), English part: 3,994 memes labelled for sentiment, its degree, intention,
offensiveness and metaphor occurrence.

Release layout: `label_E.csv` (one row per meme, label strings such as `4(sorrow)`), `E_text.csv` (the OCR text,
multi-line quoted fields, many empty) and the images `Eimages/image_ (N).jpg`, nested at different depths in
different downloads (`Eimages/Eimages/` in the Kaggle archive, `Eimages/Eimages/Eimages/` in others): the image folder
is the one below the source that holds the images named in `label_E.csv`, at any depth. The release has no split:
the benchmark uses the fixed 6/2/2 split of M3F, the files `avg_{train,val,test}_label_E.csv`, whose first column
names each meme `E_image_ (N).jpg`. The meme's id is N.
"""

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
    find_path,
    locate_image_folder,
    read_csv,
)


LAYOUT = (
    "`label_E.csv`, `E_text.csv`, the split files `avg_{train,val,test}_label_E.csv` and the images "
    "`Eimages/image_ (N).jpg` (at any depth: `Eimages/Eimages/`, `Eimages/Eimages/Eimages/` ...), the CSV files at "
    "the top of the folder or under `data/`."
)
_METRICS = ("accuracy", "weighted_f1")
TASKS = (
    Task("sentiment", ("happiness", "love", "anger", "sorrow", "fear", "hate", "surprise"), _METRICS),
    Task("sentiment_degree", ("slightly", "moderately", "very"), _METRICS),
    Task("intention", ("interactive", "expressive", "entertaining", "offensive", "other"), _METRICS),
    Task("offensiveness", ("non-offensive", "slightly", "moderately", "very"), _METRICS),
    Task("metaphor", ("literal", "metaphorical"), _METRICS, description="`metaphor occurrence` of the release."),
)
# Column of label_E.csv for each task, and the class number the release gives to the first class.
_COLUMNS = {
    "sentiment": ("sentiment category", 1),
    "sentiment_degree": ("sentiment degree", 1),
    "intention": ("intention detection", 1),
    "offensiveness": ("offensiveness detection", 0),
    "metaphor": ("metaphor occurrence", 0),
}
_SPLIT_FILES = {"train": "avg_train_label_E", "validation": "avg_val_label_E", "test": "avg_test_label_E"}
# ASCII digits only: `\d` would also match other scripts' digits, which int() accepts.
_NAME = re.compile(r"image_ \(([0-9]+)\)\.\w+")
_LABEL = re.compile(r"([0-9]+)\s*(?:\(([^()]*)\))?")
# What the release's image names look like, loosely (to point at renamed or re-encoded images in an error).
_LOOKALIKE = re.compile(r"(?:E_)?image_\s*\(\s*[0-9]+\s*\)\.\w+", re.IGNORECASE)
_IMAGE_FOLDERS = (
    "Eimages/Eimages",
    "Eimages",
    "Eimages/Eimages/Eimages",
    "data/Eimages/Eimages",
    "data/Eimages",
    "data/Eimages/Eimages/Eimages",
)
_SHOWN_IDS = 20


def _find(source: Path, name: str, what: str) -> Path:
    return find_path(source, [name, f"data/{name}"], what, LAYOUT)


def _image_id(name: str) -> str:
    """N of `image_ (N).jpg` (an `E_` prefix, as in the split files, is dropped)."""
    match = _NAME.fullmatch(name.strip().removeprefix("E_"))
    if match is None:
        raise ValueError(f"image name {name!r} is not of the form 'image_ (N).jpg'")
    return str(int(match[1]))


def _label(value: str, task: Task, first: int) -> int:
    """Class index of a label string `N(name)` or `N` (N in ASCII digits); the name, when given, must be the class's.
    Anything else (`1.5`, `-1`, `inf`, `NaN`, `1e3`, `true`) is a LabelError naming the value."""
    match = _LABEL.fullmatch(value.strip())
    if match is None:
        raise LabelError(f"{task.name} label {value!r} is not of the form 'N(name)' or 'N'")
    index = int(match[1]) - first
    if not 0 <= index < task.num_labels:
        raise LabelError(f"{task.name} label {value!r} outside {first}..{task.num_labels - 1 + first}")
    name = match[2]
    if name is not None and name.strip().lower() != task.class_names[index]:
        raise LabelError(
            f"{task.name} label {value!r}: class {match[1]} is {task.class_names[index]!r}, not {name.strip()!r}"
        )
    return index


def _task_label(row: dict[str, str], task: Task) -> int:
    column, first = _COLUMNS[task.name]
    if row.get(column) is None:
        raise LabelError(f"row has no {column!r} field (fewer fields than the header)")
    return _label(row[column], task, first)


def _require(path: Path, rows: list[tuple[int, dict[str, str]]], columns: tuple[str, ...]) -> None:
    absent = [column for column in columns if rows and column not in rows[0][1]]
    if absent:
        raise ValueError(f"{str(path)!r} has no columns {absent}; expected {LAYOUT}")


def _ids(ids: list[str]) -> str:
    shown = ", ".join(sorted(ids, key=int)[:_SHOWN_IDS])
    return shown + (f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else "")


def _read_splits(source: Path, result: ReadResult) -> dict[str, tuple[str, str]]:
    """Id -> (split, origin) from the split files; a meme listed twice is a problem at its second listing."""
    splits: dict[str, tuple[str, str]] = {}
    for split, stem in _SPLIT_FILES.items():
        path = find_path(
            source, [f"{stem}.csv", stem, f"data/{stem}.csv", f"data/{stem}"], f"split file {stem}.csv", LAYOUT
        )
        rows = read_csv(path)
        # M3F names the column `images_name`; accept `file_name`, the name label_E.csv uses, too.
        column = "file_name" if rows and "file_name" in rows[0][1] else "images_name"
        _require(path, rows, (column,))
        for line, row in rows:
            origin = f"{path.name}:{line}"
            try:
                meme = _image_id(row[column] or "")
            except ValueError as error:
                result.problems.append(Problem(origin, str(error)))
                continue
            if meme in splits:
                result.problems.append(Problem(origin, f"meme {meme} is already listed at {splits[meme][1]}"))
                continue
            splits[meme] = (split, origin)
    return splits


def _read_texts(path: Path, result: ReadResult) -> dict[str, str]:
    rows = read_csv(path)
    _require(path, rows, ("file_name", "text"))
    texts: dict[str, str] = {}
    for line, row in rows:
        origin = f"{path.name}:{line}"
        try:
            meme = _image_id(row["file_name"] or "")
        except ValueError as error:
            result.problems.append(Problem(origin, str(error)))
            continue
        if meme in texts:
            result.problems.append(Problem(origin, f"a second text for meme {meme} (the first one is kept)"))
            continue
        texts[meme] = row["text"] or ""
    return texts


def read(source: Path, options: ReadOptions) -> ReadResult:
    labels_path = _find(source, "label_E.csv", "annotation file")
    texts_path = _find(source, "E_text.csv", "text file")
    result = ReadResult(
        notes=[
            "The split is the fixed 6/2/2 split of M3F (`avg_{train,val,test}_label_E.csv`); `val` is the "
            "`validation` split. Labels are read from `label_E.csv`; the label columns of the split files are not "
            "used.",
            "The id is N of the image `image_ (N).jpg`.",
            "Class indices: sentiment, sentiment degree and intention are the release's 1-based class numbers minus "
            "1; offensiveness and metaphor occurrence keep their 0-based numbers.",
            "Metaphor category, source/target domain and source/target modality are not converted.",
        ]
    )
    splits = _read_splits(source, result)
    texts = _read_texts(texts_path, result)
    rows = read_csv(labels_path)
    _require(labels_path, rows, ("file_name", *(column for column, _ in _COLUMNS.values())))

    labelled, unsplit, untexted = set(), [], 0
    for line, row in rows:
        origin = f"{labels_path.name}:{line}"
        try:
            meme = _image_id(row["file_name"] or "")
        except ValueError as error:
            result.problems.append(Problem(origin, str(error)))
            continue
        labelled.add(meme)
        if meme not in splits:
            unsplit.append(meme)
            continue
        try:
            labels = {task.name: _task_label(row, task) for task in TASKS}
        except LabelError as error:
            result.problems.append(Problem(origin, str(error)))
            continue
        untexted += meme not in texts
        result.examples.append(
            Example(
                id=meme,
                split=splits[meme][0],
                image=Path(row["file_name"].strip()),  # the file name; placed in the image folder below
                text=texts.get(meme, ""),
                labels=labels,
                origin=origin,
            )
        )
    result.examples.sort(key=lambda example: int(example.id))
    images = locate_image_folder(
        source,
        _IMAGE_FOLDERS,
        {example.image.name for example in result.examples},
        "MET-Meme image folder",
        LAYOUT,
        name_pattern=_LOOKALIKE,
    )
    for example in result.examples:
        example.image = images / example.image.name

    unlabelled = {
        split: [m for m, (s, _) in splits.items() if s == split and m not in labelled] for split in _SPLIT_FILES
    }
    unlabelled = {split: ids for split, ids in unlabelled.items() if ids}
    if unlabelled:
        count = sum(len(ids) for ids in unlabelled.values())
        per_split = "; ".join(f"{split}: {len(ids)} ({_ids(ids)})" for split, ids in unlabelled.items())
        result.notes.append(
            f"{count} memes listed in the split files have no row in `label_E.csv`: they are not memes of the "
            f"release (it has no image for them either) and are left out. {per_split}."
        )
    if unsplit:
        result.notes.append(
            f"{len(unsplit)} rows of `label_E.csv` are in no split file and were not converted: {_ids(unsplit)}."
        )
    if untexted:
        result.notes.append(f"{untexted} memes have no row in `E_text.csv`: their text is the empty string.")
    return result


BENCHMARKS = (
    Benchmark(
        name="met-meme",
        pretty_name="MET-Meme (English)",
        tasks=TASKS,
        description=(
            "The English part of MET-Meme: 3,994 memes with their OCR text, annotated for sentiment (7 classes) and "
            "its degree, the author's intention, offensiveness, and whether the meme is metaphorical. The split is "
            "the fixed 6/2/2 split of M3F, also used by CDGLT (2,396 / 798 / 800 memes). Warning: some memes are "
            "offensive."
        ),
        source_layout=LAYOUT,
        distribution=(
            "the Kaggle dataset liaolianfoka/met-meme (https://www.kaggle.com/datasets/liaolianfoka/met-meme: "
            "`Eimages`, `label_E.csv`, `E_text.csv`); the split files from https://github.com/Vincy2King/M3F-MEME "
            "(Baidu Pan links in its README); copies of the CSV files re-saved as UTF-8 in "
            "https://github.com/Qianvenh/CDGLT"
        ),
        license="other",
        terms=(
            "No explicit licence accompanies the release. The memes were collected from the web and are shared by "
            "the authors for research; use them for research only."
        ),
        citation="""
@inproceedings{xu2022metmeme,
  title = {MET-Meme: A Multimodal Meme Dataset Rich in Metaphors},
  author = {Xu, Bo and Li, Tingting and Zheng, Junzhe and Naseriparsa, Mehdi and Zhao, Zhehuan and Lin, Hongfei
    and Xia, Feng},
  booktitle = {Proceedings of the 45th International ACM SIGIR Conference on Research and Development in
    Information Retrieval},
  pages = {2887--2899},
  year = {2022},
  doi = {10.1145/3477495.3532019}
}""",
        read=read,
    ),
)
