"""PrideMM (Shah et al., EMNLP 2024): 5,063 LGBTQ+ memes labelled for hate, target, stance and humour.

Release layout: `PrideMM.csv` with the columns `name` (image file), `text`, `split` (train/val/test), `hate`,
`target`, `stance`, `humour` (in any order), and the images in `Images/` (found at any depth below the CSV's folder by
the names in `name`). `target` is written only for hateful memes (`NA` otherwise), so it is -1 on every non-hateful
row. A label cell is a class number; `1.0`, as pandas writes an integer column with missing values, is read as 1;
other cells (`1.5`, `-0.5`, `inf`, `1e3`, `true`) are bad rows.
"""

from pathlib import Path

from .common import (
    IMAGE_FILE,
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
    read_csv,
)


LAYOUT = (
    "`PrideMM.csv` (name, text, split, hate, target, stance, humour) and the images in `Images/` (at any depth below "
    "the CSV's folder)."
)
_SPLITS = {"train": "train", "val": "validation", "test": "test"}
_METRICS = ("accuracy", "auroc", "macro_f1")
TASKS = (
    Task("hate", ("No Hate", "Hate"), _METRICS),
    Task(
        "target",
        ("Undirected", "Individual", "Community", "Organization"),
        _METRICS,
        description="Labelled on hateful memes only (-1 elsewhere).",
    ),
    Task("stance", ("Neutral", "Support", "Oppose"), _METRICS),
    Task("humour", ("No Humour", "Humour"), _METRICS),
)
_MISSING = {"", "NA", "NaN", "nan", "None"}


def _label(value: str, task: Task, allow_missing: bool) -> int:
    """The class index of a label cell; -1 for a missing-value marker (`NA`, `NaN`, empty) where `allow_missing`."""
    value = value.strip()
    if value in _MISSING:
        if allow_missing:
            return -1
        raise LabelError(f"{task.name} label missing ({value!r})")
    return class_index(value, f"{task.name} label", task.num_labels, strings=True)


def read(source: Path, options: ReadOptions) -> ReadResult:
    csv_path = find_path(source, ["PrideMM.csv", "PrideMM/PrideMM.csv"], "annotation file", LAYOUT)
    rows = read_csv(csv_path)
    columns = ("name", "text", "split", *(task.name for task in TASKS))
    absent = [column for column in columns if rows and column not in rows[0][1]]
    if absent:
        raise ValueError(f"{str(csv_path)!r} has no columns {absent}; expected {LAYOUT}")
    result = ReadResult(
        notes=["`val` of the release is the `validation` split.", "`target` is -1 on non-hateful memes."]
    )
    decimals = 0
    for line, row in rows:
        origin = f"{csv_path.name}:{line}"
        if any(row.get(column) is None for column in columns):
            result.problems.append(Problem(origin, "row has fewer fields than the header"))
            continue
        split = row["split"].strip()
        try:
            labels = {task.name: _label(row[task.name], task, allow_missing=task.name == "target") for task in TASKS}
        except LabelError as error:
            result.problems.append(Problem(origin, str(error)))
            continue
        if labels["hate"] != 1:
            labels["target"] = -1
        decimals += any("." in row[task.name] and row[task.name].strip() not in _MISSING for task in TASKS)
        name = Path(row["name"].strip()).name  # a file name; placed in the image folder below
        result.examples.append(
            Example(
                id=Path(name).stem,
                split=_SPLITS.get(split, split),
                image=Path(name),
                text=row.get("text") or "",
                labels=labels,
                origin=origin,
            )
        )
    names = {example.image.name for example in result.examples}
    images = locate_image_folder(
        csv_path.parent, ["Images", "images"], names, "image folder", LAYOUT, name_pattern=IMAGE_FILE
    )
    for example in result.examples:
        example.image = images / example.image.name
    if decimals:
        result.notes.append(f"{decimals} rows write a label as a decimal such as `1.0`; it is read as the integer.")
    return result


BENCHMARKS = (
    Benchmark(
        name="pridemm",
        pretty_name="PrideMM",
        tasks=TASKS,
        description=(
            "5,063 memes about the LGBTQ+ Pride movement (2020-2024, Facebook, Twitter, Reddit) with OCR text, "
            "labelled for hate speech, its target, stance towards the movement, and humour. Warning: the memes "
            "contain offensive content."
        ),
        source_layout=LAYOUT,
        distribution="a Google Drive archive linked from the README of https://github.com/SiddhantBikram/MemeCLIP",
        license="other",
        terms=(
            "The release states no licence; the memes are collected from social media and distributed by the "
            "authors for research. Use them for research only and follow the terms of the MemeCLIP repository."
        ),
        citation="""
@inproceedings{shah2024memeclip,
  title = {MemeCLIP: Leveraging CLIP Representations for Multimodal Meme Classification},
  author = {Shah, Siddhant Bikram and Shiwakoti, Shuvam and Chaudhary, Maheep and Wang, Haohan},
  booktitle = {Proceedings of the 2024 Conference on Empirical Methods in Natural Language Processing},
  year = {2024}
}""",
        read=read,
    ),
)
