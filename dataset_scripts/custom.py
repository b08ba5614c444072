"""Your own memes or posts: any CSV or JSON-lines file with an image-path column, a text column, one or more label
columns and, optionally, a split column and an id column.

    memekit data prepare custom --source posts.csv --output data/posts --label-columns stance humour \
        [--split-column split]

Image paths are relative to the file's folder (or to `--image-root`), and every image must lie inside that folder:
a path leaving it (`..`, an absolute path elsewhere, a symbolic link out) is a bad row, so that nothing from elsewhere
on the disk ends up in a dataset meant for the Hub. Each label column becomes a task whose classes are the values
declared with `--classes` (in that order), or else the values found in it (integers in numeric order, other values
in alphabetical order); an empty cell is -1 (no label). A value outside the declared classes, a non-finite number
(`inf`, `NaN`) and, in a column of numbers, a non-integer (`1.5`) are bad rows.
Split values `train`, `validation` (also `val`, `valid`, `dev`) and `test` are read from the split column; without
one, the rows are split 8:1:1 per class of the first label column with a seeded shuffle. The same bad-input rules as
for the benchmarks apply.
"""

import json
import math
import os
from pathlib import Path

from .common import Benchmark, Example, Problem, ReadOptions, ReadResult, Task, read_csv, read_text, stratified_split


_SPLITS = {"train": "train", "validation": "validation", "val": "validation", "valid": "validation",
           "dev": "validation", "test": "test"}  # fmt: skip
_METRICS = ("accuracy", "macro_f1", "weighted_f1", "auroc")


def _rows(path: Path) -> list[tuple[int, dict]]:
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    if path.suffix.lower() in (".jsonl", ".json"):
        rows = []
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path.name}:{number} is not valid JSON ({error.msg}).") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path.name}:{number} is not a JSON object.")
                rows.append((number, row))
        return rows
    raise ValueError(f"`source` must be a .csv or .jsonl file, got {str(path)!r}.")


def _cell(value: object) -> str:
    return "" if value is None else str(value).strip()


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _integer_class(value: str) -> str | None:
    """The class name of a cell of a column of numbers: the integer as written without a fraction (`1.0` is `1`),
    or None when it is not an integer (`1.5`, `inf`, `nan`)."""
    number = _number(value)
    if number is None or not math.isfinite(number) or number != int(number):
        return None
    return str(int(number))


def _class_names(values: list[str]) -> tuple[str, ...]:
    """Classes found in a label column: integers in numeric order when every value is a number, else the values in
    alphabetical order. Non-finite numbers and non-integers are never classes (their rows are bad)."""
    distinct = {value for value in values if value}
    if distinct and all(_number(value) is not None for value in distinct):
        integers = {_integer_class(value) for value in distinct} - {None}
        return tuple(sorted(integers, key=int))
    return tuple(sorted(value for value in distinct if not _non_finite(value)))


def _non_finite(value: str) -> bool:
    number = _number(value)
    return number is not None and not math.isfinite(number)


def _declared_classes(classes, label_columns: list[str]) -> dict[str, tuple[str, ...]]:
    if classes is None:
        return {}
    if isinstance(classes, (list, tuple)):
        if len(label_columns) != 1:
            raise ValueError(
                f"`classes` is a list but there are {len(label_columns)} label columns {label_columns}; give a dict "
                "{column: [classes]} (on the command line: --classes COLUMN=A,B,C ...)."
            )
        classes = {label_columns[0]: classes}
    if not isinstance(classes, dict):
        raise TypeError(f"`classes` must be a list of class names or a dict per label column, got {classes!r}.")
    unknown = sorted(set(classes) - set(label_columns))
    if unknown:
        raise ValueError(f"`classes` names columns {unknown} that are not label columns {label_columns}.")
    declared = {}
    for column, names in classes.items():
        names = tuple(str(name).strip() for name in names)
        if len(names) < 2 or len(set(names)) != len(names) or not all(names):
            raise ValueError(
                f"`classes` of column {column!r} must be two or more distinct, non-empty names, got {list(names)}."
            )
        declared[column] = names
    return declared


def _label_index(value: str, task: Task, declared: bool) -> int:
    """The class index of a label cell; ValueError naming the value when it is not one of the task's classes."""
    if not value:
        return -1
    if value in task.class_names:
        return task.class_names.index(value)
    if not declared and _integer_class(value) in task.class_names and _number(task.class_names[0]) is not None:
        return task.class_names.index(_integer_class(value))
    if _non_finite(value):
        reason = "is not a finite number"
    elif not declared and _number(value) is not None:
        reason = "is not an integer (the column holds numbers, so its classes are integers)"
    else:
        reason = f"is not one of the declared classes {list(task.class_names)}"
    raise ValueError(f"label {value!r} of column {task.name!r} {reason}")


def custom_benchmark(
    source: str | Path,
    label_columns: list[str],
    image_column: str = "image",
    text_column: str = "text",
    split_column: str | None = None,
    id_column: str | None = None,
    image_root: str | Path | None = None,
    classes: dict[str, list[str]] | list[str] | None = None,
) -> Benchmark:
    """A `Benchmark` for the user's own file; its tasks are the label columns, with the classes declared in `classes`
    or found in them. Image paths are relative to `image_root` (default: the file's folder)."""
    path = Path(source)
    root = Path(image_root) if image_root is not None else path.parent
    if not path.is_file():
        raise FileNotFoundError(f"`source` must be your CSV or JSON-lines file, got {str(path)!r}.")
    if isinstance(label_columns, str) or not label_columns:
        raise ValueError(f"`label_columns` must list at least one column, got {label_columns!r}.")
    rows = _rows(path)
    if not rows:
        raise ValueError(f"{str(path)!r} has no rows.")
    columns = [image_column, text_column, *label_columns, *(c for c in (split_column, id_column) if c)]
    absent = [column for column in columns if all(column not in row for _, row in rows)]
    if absent:
        raise ValueError(f"{str(path)!r} has no column {absent}; its columns are {sorted(rows[0][1])}.")
    declared = _declared_classes(classes, list(label_columns))
    tasks = []
    for column in label_columns:
        names = declared.get(column) or _class_names([_cell(row.get(column)) for _, row in rows])
        if len(names) < 2:
            raise ValueError(
                f"Label column {column!r} has {len(names)} distinct value(s) {list(names)}; need 2 or more."
            )
        tasks.append(Task(column, names, _METRICS))

    def read(folder: Path, options: ReadOptions) -> ReadResult:
        result = ReadResult(
            notes=[
                f"Read from `{path.name}`: image column `{image_column}`, text column `{text_column}`, label columns "
                f"{', '.join(f'`{c}`' for c in label_columns)}"
                + (f", split column `{split_column}`." if split_column else ".")
            ]
        )
        for number, row in rows:
            image = _cell(row.get(image_column))
            origin = f"{path.name}:{number}"
            if not image:
                result.problems.append(Problem(origin, f"no image path in column {image_column!r}"))
                continue
            try:
                labels = {
                    task.name: _label_index(_cell(row.get(task.name)), task, task.name in declared) for task in tasks
                }
            except ValueError as error:
                result.problems.append(Problem(origin, str(error)))
                continue
            image_path = root / image  # an absolute `image` stays as it is; memekit.data checks it is inside `root`
            meme_id = _cell(row.get(id_column)) if id_column else _relative_id(image, image_path, root)
            if Path(meme_id).is_absolute():
                result.problems.append(Problem(origin, f"id {meme_id!r} is an absolute path; ids are published"))
                continue
            split = _cell(row.get(split_column)) if split_column else ""
            result.examples.append(
                Example(
                    id=meme_id,
                    split=_SPLITS.get(split.lower(), split),
                    image=image_path,
                    text=_cell_text(row.get(text_column)),
                    labels=labels,
                    origin=origin,
                )
            )
        if not split_column:
            first = tasks[0].name
            labelled = [example for example in result.examples if example.labels[first] >= 0]
            unlabelled = [example for example in result.examples if example.labels[first] < 0]
            sizes = stratified_split(labelled, first, options.seed)
            for example in unlabelled:
                example.split = "train"
            result.notes.append(
                f"No split column: the rows are split 8:1:1 within each class of `{first}` with a seeded shuffle "
                f"(seed {options.seed}): train {sizes['train']}, validation {sizes['validation']}, test "
                f"{sizes['test']}; {len(unlabelled)} rows without a `{first}` label go to train."
            )
        return result

    return Benchmark(
        name="custom",
        pretty_name=f"custom: {path.name}",
        tasks=tuple(tasks),
        description=f"A user's own posts, converted from `{path.name}` by memekit.",
        source_layout="a CSV or JSON-lines file with image-path, text and label columns (optional split and id).",
        distribution="provided by the user",
        license="other",
        terms="Provided by the user; the terms are the user's.",
        citation="@misc{custom, title = {User-provided data}}",
        read=read,
    )


def _relative_id(image: str, path: Path, root: Path) -> str:
    """The id of a row without an id column: its image path as written, or relative to the image root when it was
    written as an absolute path (ids end up in published datasets)."""
    if not Path(image).is_absolute():
        return image
    absolute, base = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    return absolute.relative_to(base).as_posix() if absolute.is_relative_to(base) else path.name


def _cell_text(value: object) -> str:
    """The text as written ("None" and "NaN" stay text); a missing or null value is ""."""
    return "" if value is None else str(value)
