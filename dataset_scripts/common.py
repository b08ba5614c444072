"""What every benchmark converter shares: the registry types and robust readers of the release files.

A converter module describes its benchmark(s) with a `Benchmark` and supplies a `read(source, options)` function that
turns the release, exactly as distributed, into `Example`s and `Problem`s. It does not validate images or write
anything: `memekit.data.prepare_benchmark` does that the same way for every benchmark.
"""

import csv
import io
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path


SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Task:
    """One classification task of a benchmark: its label column, class names, and how the literature reports it."""

    name: str
    class_names: tuple[str, ...]
    metrics: tuple[str, ...]
    report_split: str = "test"
    description: str = ""

    @property
    def num_labels(self) -> int:
        return len(self.class_names)


@dataclass
class Example:
    """One meme of a release: `labels` maps each task to a class index, or -1 when the row has no label for it."""

    id: str
    split: str
    image: Path
    text: str
    labels: dict[str, int]
    origin: str  # "file:line", for error messages


@dataclass
class Problem:
    """A row that cannot be converted as it is, and why."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass
class ReadOptions:
    seed: int = 0


@dataclass
class ReadResult:
    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # conversion facts for the dataset card


@dataclass(frozen=True)
class Benchmark:
    name: str
    pretty_name: str
    tasks: tuple[Task, ...]
    description: str
    source_layout: str
    distribution: str
    license: str
    terms: str
    citation: str
    read: Callable[[Path, ReadOptions], ReadResult]
    splits: tuple[str, ...] = SPLITS
    # Whether an id may appear in one split only. Hateful Memes' dev_seen and dev_unseen share memes, for example.
    disjoint_splits: bool = True

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"{self.name} has no task {name!r}; its tasks are {[t.name for t in self.tasks]}.")


class LabelError(ValueError):
    """A label value outside a task's known set."""


def decode_text(data: bytes) -> str:
    """Bytes of a release file as text. UTF-8 (a BOM is dropped); in a file that is not all UTF-8, each line that is
    not UTF-8 is read as Windows-1252, else Latin-1 (never fails), so a few stray bytes cannot garble the rest."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = []
    for line in data.splitlines(keepends=True):
        for encoding in ("utf-8", "cp1252", "latin-1"):
            try:
                lines.append(line.decode(encoding))
                break
            except UnicodeDecodeError:
                continue
    return "".join(lines)


def read_text(path: Path) -> str:
    return decode_text(path.read_bytes())


def read_csv(path: Path, delimiter: str = ",") -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file as strings, keyed by header, with the line number where each row starts.

    Values stay exactly as written: "None", "NaN", "NA" and "null" are text, not missing values.
    """
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)
    rows = []
    line = reader.line_num + 1
    for row in reader:
        rows.append((line, {(key or "").strip(): value for key, value in row.items()}))
        line = reader.line_num + 1
    return rows


def read_jsonl(path: Path) -> tuple[list[tuple[int, dict]], list[Problem]]:
    """Objects of a JSON-lines file with their line numbers; lines that are not JSON objects become problems."""
    rows, problems = [], []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(Problem(f"{path.name}:{number}", f"not valid JSON ({error.msg})"))
            continue
        if not isinstance(row, dict):
            problems.append(Problem(f"{path.name}:{number}", f"expected a JSON object, got {type(row).__name__}"))
            continue
        rows.append((number, row))
    return rows, problems


def find_path(source: Path, candidates: Iterable[str], what: str, layout: str) -> Path:
    """The first of `candidates` (relative to `source`) that exists; a clear error naming the layout otherwise."""
    candidates = list(candidates)
    for candidate in candidates:
        path = source / candidate
        if path.exists():
            return path
    raise FileNotFoundError(
        f"No {what} in {str(source)!r}: looked for {', '.join(repr(c) for c in candidates)}. Expected layout: {layout}"
    )


def text_or_empty(value: object) -> str:
    """The release's text, or "" when the field is absent or null. Literal "None"/"NaN"/"null" strings are kept."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def stratified_split(
    examples: list[Example], task: str, seed: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> dict[str, int]:
    """Assign train/validation/test in place, per class of `task`, with a seeded shuffle; returns the split sizes.

    Within each class (ids sorted first, so the input order does not matter) the first 80% go to train, the next 10%
    to validation and the rest to test, rounding the validation and test shares to the nearest integer.
    """
    generator = random.Random(seed)
    by_class: dict[int, list[Example]] = {}
    for example in sorted(examples, key=lambda e: e.id):
        by_class.setdefault(example.labels[task], []).append(example)
    for label in sorted(by_class):
        members = by_class[label]
        generator.shuffle(members)
        n_validation = round(len(members) * fractions[1])
        n_test = round(len(members) * fractions[2])
        n_train = len(members) - n_validation - n_test
        for index, example in enumerate(members):
            example.split = "train" if index < n_train else "validation" if index < n_train + n_validation else "test"
    sizes = {split: 0 for split in SPLITS}
    for example in examples:
        sizes[example.split] += 1
    return sizes
