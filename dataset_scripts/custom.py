"""Your own memes or posts: any CSV or JSON-lines file with an image-path column, a text column, one or more label
columns and, optionally, a split column and an id column.

    memekit data prepare custom --source posts.csv --output data/posts --label-columns stance humour \
        [--split-column split]

Image paths are relative to the file's folder (or absolute). Each label column becomes a task whose classes are the
values found in it (numbers in numeric order, other values in alphabetical order); an empty cell is -1 (no label).
Split values `train`, `validation` (also `val`, `valid`, `dev`) and `test` are read from the split column; without
one, the rows are split 8:1:1 per class of the first label column with a seeded shuffle. The same bad-input rules as
for the benchmarks apply.
"""

import json
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


def _class_names(values: list[str]) -> tuple[str, ...]:
    distinct = sorted({value for value in values if value})

    def number(value: str) -> float | None:
        try:
            return float(value)
        except ValueError:
            return None

    if distinct and all(number(value) is not None for value in distinct):
        return tuple(sorted(distinct, key=number))
    return tuple(distinct)


def custom_benchmark(
    source: str | Path,
    label_columns: list[str],
    image_column: str = "image",
    text_column: str = "text",
    split_column: str | None = None,
    id_column: str | None = None,
) -> Benchmark:
    """A `Benchmark` for the user's own file; its tasks are the label columns, with the classes found in them."""
    path = Path(source)
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
    tasks = []
    for column in label_columns:
        names = _class_names([_cell(row.get(column)) for _, row in rows])
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
            labels = {}
            for task in tasks:
                value = _cell(row.get(task.name))
                labels[task.name] = task.class_names.index(value) if value else -1
            split = _cell(row.get(split_column)) if split_column else ""
            result.examples.append(
                Example(
                    id=_cell(row.get(id_column)) if id_column else image,
                    split=_SPLITS.get(split.lower(), split),
                    image=(path.parent / image) if not Path(image).is_absolute() else Path(image),
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


def _cell_text(value: object) -> str:
    """The text as written ("None" and "NaN" stay text); a missing or null value is ""."""
    return "" if value is None else str(value)
