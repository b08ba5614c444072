"""Benchmarks as `datasets`: convert an official release into a Hub-ready Parquet folder, and load it back.

`prepare_benchmark("pridemm", source, output)` reads the release with the benchmark's converter in `dataset_scripts/`,
checks every row (image decodes, label known, id unique, split known), and writes `output/` as Parquet shards per split
plus a `README.md` dataset card whose YAML declares the configs, features and split sizes. `load_benchmark` (or plain
`datasets.load_dataset(output)`) loads it offline; `output` can be pushed to a (private) Hub dataset repository as is.
"""

import logging
import math
import os
import warnings
from collections import Counter
from pathlib import Path

import datasets
import yaml
from huggingface_hub import DatasetCard, DatasetCardData
from PIL import Image

from memekit.dataset_scripts import BENCHMARKS
from memekit.dataset_scripts.common import Benchmark, Example, Problem, ReadOptions, ReadResult, Task
from memekit.dataset_scripts.custom import custom_benchmark
from memekit.outputs import check_replaceable, read_manifest, replacing


CUSTOM_METRICS = ("accuracy", "macro_f1", "weighted_f1", "auroc")


logger = logging.getLogger(__name__)

MAX_SHARD_BYTES = 500 * 1024 * 1024
_SHOWN_PROBLEMS = 20
# Written into each prepared folder's manifest; raise it when the same release would convert differently.
CONVERTER_VERSION = 2


class BadInputError(ValueError):
    """Rows of a release that cannot be converted as they are (the message names them and counts them)."""


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"Unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)} (or `custom`).")
    return BENCHMARKS[name]


def card_metadata(path: str | Path) -> dict:
    """The YAML metadata of the dataset card of a prepared folder."""
    card = Path(path) / "README.md"
    if not card.is_file():
        raise FileNotFoundError(f"{str(path)!r} is not a prepared dataset folder (no README.md).")
    return yaml.safe_load(card.read_text(encoding="utf-8").split("---\n")[1])


def benchmark_name_of(path: str | Path) -> str:
    """The benchmark a prepared folder holds (a registered name, or `custom`), from its card's `pretty_name`."""
    pretty_name = str(card_metadata(path).get("pretty_name"))
    for name, benchmark in BENCHMARKS.items():
        if benchmark.pretty_name == pretty_name:
            return name
    if pretty_name.startswith("custom"):
        return "custom"
    raise ValueError(f"Cannot tell which benchmark {str(path)!r} holds; pass `--dataset`.")


def benchmark_of(name: str, path: str | Path) -> Benchmark:
    """The description of a prepared folder: the registry's for a benchmark, the folder's own for `custom` data (its
    tasks are the folder's class-label columns)."""
    if name != "custom":
        return get_benchmark(name)
    meta = card_metadata(path)
    tasks = tuple(
        Task(feature["name"], tuple(feature["dtype"]["class_label"]["names"].values()), CUSTOM_METRICS)
        for feature in meta["dataset_info"]["features"]
        if isinstance(feature["dtype"], dict) and "class_label" in feature["dtype"]
    )
    return Benchmark(
        name="custom",
        pretty_name=meta.get("pretty_name", "custom"),
        tasks=tasks,
        description="A user's own posts, converted by memekit.",
        source_layout="",
        distribution="provided by the user",
        license=meta.get("license", "other"),
        terms="Provided by the user; the terms are the user's.",
        citation="",
        read=None,
    )


def prepare_custom(
    source: str | Path,
    output: str | Path,
    label_columns: list[str],
    image_column: str = "image",
    text_column: str = "text",
    split_column: str | None = None,
    id_column: str | None = None,
    image_root: str | Path | None = None,
    classes: dict[str, list[str]] | list[str] | None = None,
    **options,
) -> Path:
    """`prepare_benchmark` for your own CSV or JSON-lines file (see `dataset_scripts/custom.py`).

    Image paths are relative to `image_root` (default: the file's folder) and must lie inside it. `classes` declares
    the allowed values of the label columns (a list when there is one label column, else a dict per column); any
    other value is a bad row. `options` are `skip_bad`, `overwrite`, `seed` and `max_image_pixels`.
    """
    source = Path(source)
    root = Path(image_root) if image_root is not None else source.parent
    if image_root is not None and not root.is_dir():
        raise FileNotFoundError(f"`image_root` must be the folder holding your images, got {str(root)!r}.")
    benchmark = custom_benchmark(
        source, label_columns, image_column, text_column, split_column, id_column, image_root=root, classes=classes
    )
    output = write_benchmark(benchmark, root, output, protected=(source,), **options)
    for task, splits in class_counts(output).items():
        rare = [name for name, count in splits.get("train", {}).items() if count < 2]
        if rare:
            logger.warning(
                "Label column %r: class(es) %s have fewer than two training examples (a typo in the file?); declare "
                "the allowed values with --classes to catch such values.",
                task,
                rare,
            )
    return output


def class_counts(path: str | Path) -> dict[str, dict[str, dict[str, int]]]:
    """Examples per class of each task and split of a prepared folder ({task: {split: {class: count}}}), from its
    manifest; rows without a label count under "(no label)"."""
    manifest = read_manifest(path)
    if manifest is None or "class_counts" not in manifest:
        raise FileNotFoundError(f"{str(path)!r} is not a folder written by `memekit data prepare` (no manifest).")
    return manifest["class_counts"]


def features_of(benchmark: Benchmark) -> datasets.Features:
    features = {"id": datasets.Value("string"), "image": datasets.Image(), "text": datasets.Value("string")}
    for task in benchmark.tasks:
        features[task.name] = datasets.ClassLabel(names=list(task.class_names))
    return datasets.Features(features)


def prepare_benchmark(
    name: str,
    source: str | Path,
    output: str | Path,
    skip_bad: bool = False,
    overwrite: bool = False,
    seed: int = 0,
    max_image_pixels: int | None = None,
) -> Path:
    """
    Convert the release of benchmark `name` found in `source` into a Hub-ready dataset folder `output`.

    Args:
        name: a registered benchmark (`memekit data list`).
        source: the folder holding the release as distributed.
        output: the folder to write; it must not exist (or be empty) unless `overwrite`. It may not be `source` or
            contain it.
        skip_bad: drop rows that cannot be converted (missing, broken or outside-the-source image, unknown label or
            split, duplicate id) instead of stopping; their count is logged and written in the dataset card.
        overwrite: replace an existing `output`, which must be a folder memekit prepared, holding only the files it
            wrote there, unchanged (its `memekit-manifest.json` lists them with their SHA-256).
        seed: seed of the split for benchmarks without an official one (MVSA).
        max_image_pixels: images with more pixels are rejected as decompression bombs (default: Pillow's limit).

    Returns:
        The output folder. A failure changes nothing there: the dataset is written next to it and swapped in.
    """
    return write_benchmark(get_benchmark(name), source, output, skip_bad, overwrite, seed, max_image_pixels)


def write_benchmark(
    benchmark: Benchmark,
    source: str | Path,
    output: str | Path,
    skip_bad: bool = False,
    overwrite: bool = False,
    seed: int = 0,
    max_image_pixels: int | None = None,
    protected: tuple[str | Path, ...] = (),
) -> Path:
    """`prepare_benchmark` for any `Benchmark`, registered or built at run time (e.g. a user's own data).

    Every image must lie inside `source` (symbolic links resolved); `output` is never `source`, a folder containing
    it, or one of `protected`, and it is replaced only when memekit wrote it (see `memekit.outputs`).
    """
    source, output = Path(source), Path(output)
    if not source.is_dir():
        raise FileNotFoundError(
            f"`source` must be the folder of the {benchmark.pretty_name} release, got {str(source)!r}."
        )
    protect = (source, *protected)
    check_replaceable(output, "dataset", overwrite, protect)

    result = benchmark.read(source, ReadOptions(seed=seed))
    examples, problems = _validate(benchmark, result, max_image_pixels or Image.MAX_IMAGE_PIXELS, source)
    if problems and not skip_bad:
        shown = "\n".join(f"  {problem}" for problem in problems[:_SHOWN_PROBLEMS])
        more = f"\n  ... and {len(problems) - _SHOWN_PROBLEMS} more" if len(problems) > _SHOWN_PROBLEMS else ""
        raise BadInputError(
            f"{len(problems)} rows of the {benchmark.pretty_name} release in {str(source)!r} cannot be converted:\n"
            f"{shown}{more}\nFix them, or pass `skip_bad=True` (--skip-bad) to drop them; the dataset card records "
            "how many were dropped."
        )
    if problems:
        logger.warning("Dropped %d rows that cannot be converted (--skip-bad); first: %s", len(problems), problems[0])
    if not examples:
        raise BadInputError(f"No convertible rows in {str(source)!r}.")

    counts = _count_classes(benchmark, examples)
    info = {"benchmark": benchmark.name, "converter_version": CONVERTER_VERSION, "class_counts": counts}
    with replacing(output, "dataset", overwrite, protect, info) as staging:
        split_sizes = _write_parquet(benchmark, examples, staging)
        _card(benchmark, examples, problems, result.notes, split_sizes).save(staging / "README.md")
    sizes = {split: size for split, (size, _) in split_sizes.items()}
    logger.info("Wrote %s (%s) to %s", benchmark.pretty_name, sizes, output)
    return output


def _count_classes(benchmark: Benchmark, examples: list[Example]) -> dict[str, dict[str, dict[str, int]]]:
    counts = {}
    for task in benchmark.tasks:
        per_split: dict[str, Counter] = {}
        for example in examples:
            per_split.setdefault(example.split, Counter())[example.labels.get(task.name, -1)] += 1
        counts[task.name] = {
            split: {
                **{name: per_split[split][index] for index, name in enumerate(task.class_names)},
                **({"(no label)": per_split[split][-1]} if per_split[split][-1] else {}),
            }
            for split in benchmark.splits
            if split in per_split
        }
    return counts


def load_benchmark(name: str, path: str | Path, decode_images: bool = True) -> datasets.DatasetDict:
    """The `DatasetDict` of a folder written by `prepare_benchmark` for benchmark `name` (or `prepare_custom`, with
    `name="custom"`), offline.

    With `decode_images=False` the `image` column holds the stored file bytes (`{"bytes": ..., "path": ...}`), which
    memekit's processors open with Pillow exactly as the original code opened the files. `datasets`' own decoder
    (the default, `True`) rotates images by their EXIF orientation, which the original pipelines never do; memekit's
    training, evaluation and prediction therefore read the bytes.
    """
    path = Path(path)
    if not (path / "README.md").is_file():
        raise FileNotFoundError(
            f"{str(path)!r} is not a prepared dataset folder (no README.md); run `memekit data prepare {name} "
            f"--source RELEASE --output {path}` first."
        )
    benchmark = benchmark_of(name, path)
    # `load_dataset(path)` works too, but its cache key ignores where the folder is and when its files changed: a
    # folder re-prepared (or another folder of the same name) would load stale data. Naming the Parquet files keys
    # the cache on their paths and modification times.
    data_files = {
        split: sorted(str(file) for file in (path / "data").glob(f"{split}-*.parquet")) for split in benchmark.splits
    }
    data_files = {split: files for split, files in data_files.items() if files}
    if not data_files:
        raise FileNotFoundError(f"{str(path)!r} holds no Parquet shards under data/.")
    dataset = datasets.load_dataset("parquet", data_files=data_files)
    missing = [task.name for task in benchmark.tasks if task.name not in dataset[next(iter(dataset))].features]
    if missing:
        raise ValueError(f"{str(path)!r} does not hold benchmark {name!r}: no column for tasks {missing}.")
    if not decode_images:
        dataset = dataset.cast_column("image", datasets.Image(decode=False))
    return dataset


def _validate(
    benchmark: Benchmark, result: ReadResult, max_pixels: int, source: Path
) -> tuple[list[Example], list[Problem]]:
    problems = list(result.problems)
    valid, first_seen = [], {}
    for example in result.examples:
        key = example.id if benchmark.disjoint_splits else (example.split, example.id)
        if example.split not in benchmark.splits:
            reason = f"unknown split {example.split!r} (expected one of {list(benchmark.splits)})"
        elif key in first_seen:
            reason = f"duplicate id {example.id!r} (first at {first_seen[key]})"
        else:
            reason = (
                _label_problem(benchmark, example)
                or _outside_problem(example.image, source)
                or image_problem(example.image, max_pixels, source)
            )
        if reason is None:
            first_seen[key] = example.origin
            valid.append(example)
        else:
            problems.append(Problem(example.origin, reason))
    return valid, problems


def _label_problem(benchmark: Benchmark, example: Example) -> str | None:
    for task in benchmark.tasks:
        label = example.labels.get(task.name, -1)
        if not -1 <= label < task.num_labels:
            return f"{task.name} label {label} outside 0..{task.num_labels - 1}"
    return None


def _outside_problem(path: Path, source: Path) -> str | None:
    """Why an image path from an annotation file must not be read: it leaves the source folder (by `..`, an absolute
    path or a symbolic link), so its file would be embedded in a dataset meant for the Hub."""
    if Path(path).resolve().is_relative_to(source.resolve()):
        return None
    return (
        f"image {_shown(path, Path(os.path.abspath(source)))!r} is outside the source folder (by '..', an absolute "
        "path or a symbolic link)"
    )


def _shown(path: Path, root: Path) -> str:
    # Messages name the image relative to the release folder: they end up in dataset cards, which may be published.
    absolute = Path(os.path.abspath(path))
    return absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else path.name


def image_problem(path: Path, max_pixels: int, root: Path | None = None) -> str | None:
    """Why the image file `path` cannot be used (missing, not decodable, a decompression bomb), or None; the message
    names the image relative to `root` when given."""
    path = Path(path)
    root = Path(os.path.abspath(root)) if root is not None else None
    shown = _shown(path, root) if root is not None else str(path)
    if not path.is_file():
        return f"image {shown!r} not found"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    return (
                        f"image {shown} is {width}x{height} pixels, over the decompression-bomb limit of "
                        f"{max_pixels} pixels"
                    )
                image.load()  # decodes everything: catches truncated files
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return f"image {shown} looks like a decompression bomb ({str(error).replace(str(path), shown)})"
    except (OSError, SyntaxError, ValueError) as error:
        return f"image {shown} cannot be decoded ({str(error).replace(str(path), shown)})"
    return None


def _write_parquet(benchmark: Benchmark, examples: list[Example], folder: Path) -> dict[str, tuple[int, int]]:
    """Write the Parquet shards; returns (examples, Arrow bytes) per split."""
    features = features_of(benchmark)
    split_sizes = {}
    for split in benchmark.splits:
        members = [example for example in examples if example.split == split]
        if not members:
            continue
        num_bytes = 0
        total_bytes = sum(example.image.stat().st_size for example in members)
        num_shards = max(1, math.ceil(total_bytes / MAX_SHARD_BYTES))
        shard_length = math.ceil(len(members) / num_shards)
        (folder / "data").mkdir(exist_ok=True)
        for index in range(num_shards):
            shard = members[index * shard_length : (index + 1) * shard_length]
            columns = {
                "id": [example.id for example in shard],
                "image": [{"bytes": example.image.read_bytes(), "path": example.image.name} for example in shard],
                "text": [example.text for example in shard],
            }
            for task in benchmark.tasks:
                columns[task.name] = [example.labels.get(task.name, -1) for example in shard]
            table = datasets.Dataset.from_dict(columns, features=features)
            table.to_parquet(folder / "data" / f"{split}-{index:05d}-of-{num_shards:05d}.parquet")
            num_bytes += table.data.nbytes
        split_sizes[split] = (len(members), num_bytes)
    return split_sizes


def _card(
    benchmark: Benchmark,
    examples: list[Example],
    problems: list[Problem],
    notes: list[str],
    split_sizes: dict[str, tuple[int, int]],
) -> DatasetCard:
    data = DatasetCardData(
        pretty_name=benchmark.pretty_name,
        license=benchmark.license,
        task_categories=["image-classification", "text-classification"],
        tags=["memes", "multimodal", "memekit"],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": f"data/{split}-*.parquet"} for split in split_sizes],
            }
        ],
        dataset_info={
            "features": _features_yaml(benchmark),
            "splits": [
                {"name": split, "num_bytes": num_bytes, "num_examples": size}
                for split, (size, num_bytes) in split_sizes.items()
            ],
        },
    )
    sections = [
        f"# {benchmark.pretty_name}",
        f"Converted by memekit from the original release, with `memekit data prepare {benchmark.name}`.\n\n"
        f"{benchmark.description}",
        "## Source\n\n"
        + f"Distributed at: {benchmark.distribution}\n\nRelease layout read: {benchmark.source_layout}",
        "## Splits\n\n" + _table(["split", "examples"], [[split, size] for split, (size, _) in split_sizes.items()]),
        "## Tasks and class counts\n\n" + _class_counts(benchmark, examples, list(split_sizes)),
        "## Conversion\n\n" + _conversion_notes(notes, problems),
        "## Licence and terms of the original release\n\n" + benchmark.terms,
        "## Citation\n\n```bibtex\n" + benchmark.citation.strip() + "\n```",
        "## Loading\n\n```python\nfrom datasets import load_dataset\n\n"
        'dataset = load_dataset("path/to/this/folder")  # or the Hub repository holding it\n```',
    ]
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n")


def _class_counts(benchmark: Benchmark, examples: list[Example], splits: list[str]) -> str:
    blocks = []
    for task in benchmark.tasks:
        counts = {split: Counter() for split in splits}
        for example in examples:
            counts[example.split][example.labels.get(task.name, -1)] += 1
        rows = [[name, *(counts[split][index] for split in splits)] for index, name in enumerate(task.class_names)]
        if any(counts[split][-1] for split in splits):
            rows.append(["(no label: -1)", *(counts[split][-1] for split in splits)])
        header = (
            f"**{task.name}** ({task.num_labels} classes; the literature reports {', '.join(task.metrics)} on "
            f"`{task.report_split}`). {task.description}".strip()
        )
        blocks.append(header + "\n\n" + _table(["class", *splits], rows))
    return "\n\n".join(blocks)


def _features_yaml(benchmark: Benchmark) -> list[dict]:
    """The features as the Hub's dataset-card YAML writes them (`dataset_info.features`)."""
    features = [
        {"name": "id", "dtype": "string"},
        {"name": "image", "dtype": "image"},
        {"name": "text", "dtype": "string"},
    ]
    for task in benchmark.tasks:
        names = {str(index): name for index, name in enumerate(task.class_names)}
        features.append({"name": task.name, "dtype": {"class_label": {"names": names}}})
    return features


def _conversion_notes(notes: list[str], problems: list[Problem]) -> str:
    lines = [f"- {note}" for note in notes]
    lines.append('- Missing text is the empty string; literal texts such as "None" or "NaN" are kept as written.')
    lines.append("- Images are embedded as the original file bytes; -1 marks a row without a label for a task.")
    if problems:
        lines.append(f"- {len(problems)} rows could not be converted and were dropped (`--skip-bad`); first ones:")
        lines += [f"  - {problem}" for problem in problems[:_SHOWN_PROBLEMS]]
    else:
        lines.append("- No row was dropped as unconvertible (bad input).")
    return "\n".join(lines)


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
