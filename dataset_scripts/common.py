"""What every benchmark converter shares: the registry types and robust readers of the release files.

A converter module describes its benchmark(s) with a `Benchmark` and supplies a `read(source, options)` function that
turns the release, exactly as distributed, into `Example`s and `Problem`s. It does not validate images or write
anything: `memekit.data.prepare_benchmark` does that the same way for every benchmark.
"""

import codecs
import csv
import io
import json
import logging
import math
import os
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path


logger = logging.getLogger(__name__)


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


# Byte-order marks, longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_text(data: bytes, name: str = "") -> str:
    """Bytes of a release file as text; never fails.

    A byte-order mark selects its encoding and is dropped: UTF-8, UTF-16 LE/BE (what Excel's "Unicode text" and
    some Windows tools write) or UTF-32 LE/BE. Bytes that are not valid in the marked UTF-16/32 encoding become
    U+FFFD, with a warning naming `name`. Without a mark the text is UTF-8; in a file that is not all UTF-8, each line
    that is not UTF-8 is read as Windows-1252, else Latin-1, so a few stray bytes cannot garble the rest.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            if encoding != "utf-8":
                try:
                    return data.decode(encoding)
                except UnicodeDecodeError as error:
                    logger.warning(
                        "%s starts with a %s byte-order mark but is not all %s (%s); the bytes that are not are "
                        "read as U+FFFD.",
                        name or "A file",
                        encoding.upper(),
                        encoding.upper(),
                        error.reason,
                    )
                    return data.decode(encoding, errors="replace")
            break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
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
    return decode_text(path.read_bytes(), name=str(path))


def read_csv(path: Path, delimiter: str = ",") -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file as strings, keyed by header (names stripped), with the physical line where each row starts.

    The header is line 1; blank lines and the extra lines of quoted multi-line fields count, so a row's number is the
    line an editor shows. Blank lines are skipped, as `csv.DictReader` does. A row with fewer fields than the header
    has None for the missing ones; fields beyond the header are ignored. Values stay exactly as written: "None",
    "NaN", "NA" and "null" are text, not missing values. A line the csv module cannot parse (such as a field over its
    size limit) is a ValueError naming the file and line.
    """
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows = []
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise ValueError(
                f"{str(path)!r}, line {start}: not readable as CSV ({error}); check the file is the release's CSV."
            ) from None
        if fields:
            if header is None:
                header = [name.strip() for name in fields]
            else:
                padded = fields + [None] * (len(header) - len(fields))
                rows.append((start, dict(zip(header, padded))))
        start = reader.line_num + 1
    return rows


# Line ends of JSON lines: a raw CR or LF cannot occur inside a JSON value, but U+2028 and the other separators that
# `str.splitlines` splits on can.
_LINE_END = re.compile(r"\r\n|\r|\n")


def read_jsonl(path: Path) -> tuple[list[tuple[int, dict]], list[Problem]]:
    """Objects of a JSON-lines file with their physical line numbers (from 1, blank lines counted); lines that are not
    JSON objects become problems. `NaN` and `Infinity` are read as floats, as `json.loads` does: the converters'
    label checks refuse them."""
    rows, problems = [], []
    for number, line in enumerate(_LINE_END.split(read_text(path)), start=1):
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


_INTEGER_TEXT = re.compile(r"[0-9]+(?:\.0*)?")


def class_index(value: object, what: str, num_labels: int, strings: bool = False) -> int:
    """The class index 0..num_labels-1 that a label value holds; a LabelError naming `what` and the value otherwise.

    Accepted: an integer; a float with an integral value, such as 1.0 (what pandas writes for an integer column with
    missing values); and, with `strings`, a string of ASCII digits optionally followed by `.0` ("1", " 1.0 ").
    Refused: booleans, NaN, infinities, non-integral numbers ("1.5", "-0.5"), exponents ("1e3") and words ("true").
    """
    number: int | None = None
    if value is None:
        reason = "missing"
    elif isinstance(value, bool):
        reason = "a boolean"
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            reason = "not a finite number"
        elif not value.is_integer():
            reason = "not an integer"
        else:
            number = int(value)
    elif isinstance(value, str) and strings:
        if _INTEGER_TEXT.fullmatch(value.strip()):
            number = int(value.strip().split(".")[0])
        else:
            reason = "not an integer"
    else:
        reason = "a string" if isinstance(value, str) else f"a {type(value).__name__}"
    if number is None:
        raise LabelError(f"{what} {value!r} is not a class index ({reason}, expected an integer 0..{num_labels - 1})")
    if not 0 <= number < num_labels:
        raise LabelError(f"{what} {value!r} outside 0..{num_labels - 1}")
    return number


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


# Any image file, by suffix: a `name_pattern` for releases whose image names follow no pattern of their own.
IMAGE_FILE = re.compile(r"[^.].*\.(?:png|jpe?g|gif|bmp|webp|tiff?)", re.IGNORECASE)
# Folders that hold no release files: version control, caches, macOS's zip metadata.
_SKIPPED_FOLDERS = ("__MACOSX",)
_SHOWN_FOLDERS = 5


def locate_image_folder(
    source: Path,
    candidates: Iterable[str],
    names: Iterable[str],
    what: str,
    layout: str,
    name_pattern: re.Pattern[str] | None = None,
) -> Path:
    """The folder under `source` that holds the images the annotations name, at whatever depth it was unpacked.

    Downloads nest an image folder differently (MET-Meme's `Eimages/`, `Eimages/Eimages/` ...), so the folder is
    chosen by content, not by name: the first of `candidates` (paths relative to `source`, in order of preference)
    that holds every file of `names` is taken at once; otherwise every folder below `source` is searched, once
    (symbolic links are not followed; hidden folders and `__MACOSX` are skipped), and the folder holding most of
    `names` wins (ties: a candidate, then the shallowest). Images it lacks are then reported row by row.

    Args:
        source: the release folder; the folder returned is always below it (never resolved through links).
        candidates: the usual places of the image folder, relative to `source`; ones that leave `source` are ignored.
        names: the file names (not paths) of the images the annotations expect.
        what: what the folder is, for the error message (e.g. "MET-Meme image folder").
        layout: the expected layout of the release, for the error message.
        name_pattern: what the release's image names look like (a regex matched against whole file names), used only
            to name, in the error, folders whose files look like images of the release; by default files with the
            suffixes of `names`.

    Raises:
        FileNotFoundError: no folder holds any of `names` (or, when `names` is empty, no candidate exists); the
            message names the candidates and the folders whose files look like the release's images, if any.
    """
    source = Path(source)
    names = set(names)
    relative = []
    for candidate in candidates:
        path = os.path.normpath(candidate)
        if path != ".." and not path.startswith(f"..{os.sep}") and not os.path.isabs(path) and path not in relative:
            relative.append(path)
    relative = relative or ["."]
    if not names:  # no row to place (an empty release, or only bad rows): an existing candidate will do
        for path in relative:
            if (source / path).is_dir():
                return source / path
        raise FileNotFoundError(
            f"No {what} in {str(source)!r}: looked for {', '.join(repr(path) for path in relative)}. Expected "
            f"layout: {layout}"
        )

    def held(folder: Path) -> int:
        try:
            return len(names.intersection(os.listdir(folder)))
        except OSError:
            return 0

    counts = [held(source / path) for path in relative]
    for path, count in zip(relative, counts):
        if count == len(names):
            return source / path

    preference = {os.path.normpath(source / path): index for index, path in enumerate(relative)}
    suffixes = {os.path.splitext(name)[1].lower() for name in names}
    best: tuple[tuple, str] | None = None
    lookalikes: dict[str, list[str]] = {}  # folder -> files that look like the release's images (for the error only)
    for folder, subfolders, files in os.walk(source):
        subfolders[:] = sorted(s for s in subfolders if not s.startswith(".") and s not in _SKIPPED_FOLDERS)
        count = len(names.intersection(files))
        if count:
            depth = os.path.relpath(folder, source).count(os.sep)
            key = (-count, preference.get(os.path.normpath(folder), len(preference)), depth, folder)
            if best is None or key < best[0]:
                best = (key, folder)
        elif best is None and len(lookalikes) < _SHOWN_FOLDERS:
            similar = [
                file
                for file in files
                if (name_pattern.fullmatch(file) if name_pattern else os.path.splitext(file)[1].lower() in suffixes)
            ]
            if similar:
                lookalikes[folder] = sorted(similar)
    if best is not None:
        folder = Path(best[1])
        logger.info(
            "The %s is %r: it holds %d of the %d images the annotations name.",
            what,
            str(folder.relative_to(source)),
            -best[0][0],
            len(names),
        )
        return folder

    example = sorted(names)[0]
    if lookalikes:
        shown = "; ".join(
            f"{os.path.relpath(folder, source)!r} ({len(files)} files such as {files[0]!r})"
            for folder, files in lookalikes.items()
        )
        found = (
            f"Folders below the source hold files that look like its images but not the expected names: {shown}. "
            "Is it another version of the release, or were the images renamed?"
        )
    else:
        found = "No folder below the source holds files that look like its images."
    raise FileNotFoundError(
        f"No {what} in {str(source)!r}: none of the {len(names)} images the annotations name (such as {example!r}) "
        f"is in {', '.join(repr(path) for path in relative)} or any other folder below the source. {found} Unpack "
        f"the release's images into the source folder (at any depth). Expected layout: {layout}"
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
