"""HarMeme V1 (Pramanick et al., 2021): Harm-C (COVID-19 memes) and Harm-P (US politics memes), labelled for how
harmful a meme is and whom it targets.

Release layout: the annotations are JSON lines in `HarMeme_V1/Annotations/Harm-C/{train,val,test}.jsonl` and
`HarMeme_V1/Annotations/Harm-P/{train_v1,val_v1,test_v1}.jsonl` of the MOMENTA repository, one object per meme with
`id`, `image`, `labels` ([severity] or [severity, target, ...]; one Harm-P row has an empty severity and is kept
without harmfulness) and `text` (OCR). The images come as a separate archive, `HarMeme_Images/harmeme_images_covid_19/`
and `HarMeme_Images/harmeme_images_us_pol/`, that users unpack at different places, so images are found by file name
anywhere under the source folder. A flat folder with `{train,val,test}.jsonl` and `images/` (also the mmf layout
`data/datasets/memes/defaults/`) is read too.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .common import Benchmark, Example, Problem, ReadOptions, ReadResult, Task, find_path, read_jsonl, text_or_empty


SEVERITIES = ("not harmful", "somewhat harmful", "very harmful")
TARGETS = ("individual", "organization", "community", "society")
TASKS = (
    Task(
        "harmfulness",
        SEVERITIES,
        ("accuracy", "macro_f1"),
        description="The three-level severity of the release.",
    ),
    Task(
        "harmful",
        ("not harmful", "harmful"),
        ("accuracy", "auroc", "macro_f1"),
        description="The usual binarisation of `harmfulness`: somewhat harmful and very harmful are harmful.",
    ),
    Task(
        "target",
        TARGETS,
        ("accuracy", "macro_f1"),
        description=(
            "Defined on harmful memes: -1 on not-harmful memes and on memes without a target. A meme whose "
            "harmfulness the release leaves empty keeps the target it lists."
        ),
    ),
)
_RELEASE_SPLITS = {"train": "train", "val": "validation", "test": "test"}


@dataclass(frozen=True)
class _Variant:
    """What differs between Harm-C and Harm-P: where their files are, how ids start, how missing OCR is written."""

    name: str
    folders: tuple[str, ...]  # folders that may hold the annotation files, relative to the source
    suffixes: tuple[str, ...]  # file-name suffixes of the split files ("" or "_v1"), in order of preference
    id_prefix: str
    other_prefix: str  # ids of the other variant, to catch the wrong benchmark's files in a flat folder
    other_benchmark: str
    image_folder: str  # part of the name of the image folder of the archive, preferred on duplicate file names
    no_text: str  # what the release writes as the text of a meme without OCR text
    layout: str


HARM_C = _Variant(
    name="Harm-C",
    folders=(
        "HarMeme_V1/Annotations/Harm-C",
        "Annotations/Harm-C",
        "Harm-C",
        "data/datasets/memes/defaults/annotations",
        "annotations",
        ".",
    ),
    suffixes=("",),
    id_prefix="covid_memes_",
    other_prefix="memes_",
    other_benchmark="harmeme-p",
    image_folder="covid_19",
    no_text="null",
    layout=(
        "`Annotations/Harm-C/{train,val,test}.jsonl` of HarMeme V1 (possibly under `HarMeme_V1/`) with the images "
        "(`HarMeme_Images/harmeme_images_covid_19/covid_memes_<N>.png`) anywhere under the source folder; or a flat "
        "folder with `{train,val,test}.jsonl` and `images/` (also mmf's `data/datasets/memes/defaults/annotations/` "
        "and `data/datasets/memes/defaults/images/`)."
    ),
)
HARM_P = _Variant(
    name="Harm-P",
    folders=(
        "HarMeme_V1/Annotations/Harm-P",
        "Annotations/Harm-P",
        "Harm-P",
        # Earlier commits of the MOMENTA repository kept the Harm-P files directly in `Annotations/`.
        "HarMeme_V1/Annotations",
        "Annotations",
        ".",
    ),
    suffixes=("_v1", ""),
    id_prefix="memes_",
    other_prefix="covid_memes_",
    other_benchmark="harmeme-c",
    image_folder="us_pol",
    no_text="UNK",
    layout=(
        "`Annotations/Harm-P/{train_v1,val_v1,test_v1}.jsonl` of HarMeme V1 (possibly under `HarMeme_V1/`) with the "
        "images (`HarMeme_Images/harmeme_images_us_pol/memes_<N>.png`) anywhere under the source folder; or a flat "
        "folder with `{train,val,test}.jsonl` (or `*_v1.jsonl`) and `images/`."
    ),
)


def _split_files(source: Path, variant: _Variant) -> dict[str, Path]:
    """The file of each split: the train file in the first of the variant's folders that has one, and its siblings."""
    candidates = [
        f"{folder}/train{suffix}.jsonl" if folder != "." else f"train{suffix}.jsonl"
        for folder in variant.folders
        for suffix in variant.suffixes
    ]
    train = find_path(source, candidates, f"{variant.name} annotation file", variant.layout)
    suffix = train.stem.removeprefix("train")
    files = {}
    for release_split, split in _RELEASE_SPLITS.items():
        path = train.with_name(f"{release_split}{suffix}.jsonl")
        if not path.is_file():
            raise FileNotFoundError(
                f"{str(train)!r} has no sibling {path.name!r}: the {variant.name} release has one file per split "
                f"(train, val, test). Expected layout: {variant.layout}"
            )
        files[split] = path
    return files


def _image_index(source: Path, names: set[str], variant: _Variant) -> dict[str, Path]:
    """Where each image file name is under `source`: the archive is unpacked at different places by different users.

    When a name occurs more than once, the copy in the variant's own image folder wins (then the shallowest path), so
    a Harm-P image is never taken from the Harm-C folder or a stray copy.
    """

    others = {HARM_C.image_folder, HARM_P.image_folder} - {variant.image_folder}

    def rank(path: Path) -> tuple[int, int, str]:
        folders = [part.lower() for part in path.relative_to(source).parts[:-1]]
        if any(variant.image_folder in folder for folder in folders):
            return (0, len(folders), str(path))
        other = any(token in folder for token in others for folder in folders)
        return (2 if other else 1, len(folders), str(path))

    found: dict[str, list[Path]] = {}
    for path in source.rglob("*"):
        if path.name in names and path.is_file():
            found.setdefault(path.name, []).append(path)
    return {name: min(paths, key=rank) for name, paths in found.items()}


def _labels(value: object) -> tuple[int, list[int]]:
    """Severity index (-1 when the release leaves it empty) and target indices of a `labels` list; ValueError naming
    the value when it is not valid."""
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise ValueError(f"`labels` must be a non-empty list of strings, got {value!r}")
    severity = value[0].strip().lower()
    if severity and severity not in SEVERITIES:
        raise ValueError(f"unknown harmfulness {value[0]!r} (expected one of {list(SEVERITIES)}, or empty)")
    targets = []
    for item in value[1:]:
        target = item.strip().lower()
        if target not in TARGETS:
            raise ValueError(f"unknown target {item!r} (expected one of {list(TARGETS)})")
        if TARGETS.index(target) not in targets:
            targets.append(TARGETS.index(target))
    return (SEVERITIES.index(severity) if severity else -1), targets


def _reader(variant: _Variant) -> Callable[[Path, ReadOptions], ReadResult]:
    def read(source: Path, options: ReadOptions) -> ReadResult:
        files = _split_files(source, variant)
        result = ReadResult()
        rows = []
        for split, path in files.items():
            file_rows, problems = read_jsonl(path)
            result.problems += problems
            rows += [(split, path, line, row) for line, row in file_rows]

        counts: Counter[str] = Counter()
        parsed = []
        for split, path, line, row in rows:
            origin = f"{path.name}:{line}"
            meme_id, image = row.get("id"), row.get("image")
            if isinstance(meme_id, int) and not isinstance(meme_id, bool):
                meme_id = str(meme_id)
            if not isinstance(image, str) or not image.strip():
                image = f"{meme_id}.png" if isinstance(meme_id, str) and meme_id.strip() else None
            if not isinstance(meme_id, str) or not meme_id.strip():
                meme_id = Path(image).stem if image else None
            if meme_id is None:
                result.problems.append(Problem(origin, "row has neither `id` nor `image`"))
                continue
            try:
                severity, targets = _labels(row.get("labels"))
            except ValueError as error:
                result.problems.append(Problem(origin, str(error)))
                continue
            if severity == 0:
                target = -1
                counts["not harmful with target"] += bool(targets)
            elif severity == -1:
                # Harm-P's train_v1.jsonl has one such row (memes_326, ["", "individual", "organization"]), counted
                # in the official split size: it is kept, without harmfulness, and with its target as for any row.
                target = targets[0] if targets else -1
                counts["no harmfulness"] += 1
            else:
                target = targets[0] if targets else -1
                counts["harmful without target"] += not targets
                counts["several targets"] += len(targets) > 1
            text = text_or_empty(row.get("text"))
            counts["no text"] += text == variant.no_text
            harmful = -1 if severity == -1 else int(severity > 0)
            labels = {"harmfulness": severity, "harmful": harmful, "target": target}
            parsed.append((meme_id.strip(), split, Path(image.strip()).name, text, labels, origin))

        ids = [meme_id for meme_id, *_ in parsed]
        if ids and all(meme_id.startswith(variant.other_prefix) for meme_id in ids):
            raise ValueError(
                f"The annotation files {[str(path) for path in files.values()]} hold the memes of the other HarMeme "
                f"dataset (ids {variant.other_prefix}<N>, not {variant.id_prefix}<N>); convert them as "
                f"{variant.other_benchmark!r}."
            )

        index = _image_index(source, {image for _, _, image, *_ in parsed}, variant)
        if parsed and not index:
            raise FileNotFoundError(
                f"No image of the {variant.name} annotation files is under {str(source)!r} (looked for "
                f"{parsed[0][2]!r} and the others by file name). Unpack the HarMeme image archive into the source "
                f"folder. Expected layout: {variant.layout}"
            )
        for meme_id, split, image, text, labels, origin in parsed:
            result.examples.append(
                Example(
                    id=meme_id,
                    split=split,
                    image=index.get(image, source / image),
                    text=text,
                    labels=labels,
                    origin=origin,
                )
            )
        result.notes += _notes(variant, counts)
        return result

    return read


def _notes(variant: _Variant, counts: Counter[str]) -> list[str]:
    notes = [
        "`val` of the release is the `validation` split.",
        "`harmful` binarises `harmfulness`: somewhat harmful and very harmful memes are harmful.",
        "`target` is the first target the release lists for a harmful meme, and -1 on not-harmful memes.",
        f'The release writes "{variant.no_text}" as the text of a meme without OCR text '
        f"({counts['no text']} memes); it is kept as written, not replaced by the empty string.",
    ]
    if counts["not harmful with target"]:
        notes.append(
            f"{counts['not harmful with target']} not-harmful memes list a target; it is not kept (-1), as the "
            "target task is defined on harmful memes."
        )
    if counts["harmful without target"]:
        notes.append(f"{counts['harmful without target']} harmful memes list no target (-1).")
    if counts["several targets"]:
        notes.append(f"{counts['several targets']} harmful memes list two or more targets; the first one is kept.")
    if counts["no harmfulness"]:
        notes.append(
            f"{counts['no harmfulness']} memes have an empty harmfulness label (-1 for harmfulness and harmful); "
            "their target is kept (the first one listed, -1 when none is)."
        )
    return notes


_TERMS = (
    "The MOMENTA repository, which holds the annotations, is under the MIT licence. The memes themselves were "
    "collected from the web and social media; their copyright stays with their "
    "owners, and the authors share them for research on harmful memes. Use them for research only, and keep "
    "converted copies private unless you are sure you may redistribute the images."
)
_DISTRIBUTION = (
    "the annotations in `HarMeme_V1/Annotations` of https://github.com/LCS2-IIITD/MOMENTA; the images as a "
    "separate archive (`HarMeme_Images`) on Google Drive, linked from the README of that repository"
)

BENCHMARKS = (
    Benchmark(
        name="harmeme-c",
        pretty_name="HarMeme Harm-C",
        tasks=TASKS,
        description=(
            "Harm-C of HarMeme V1: 3,544 memes about COVID-19 with OCR text, labelled for harmfulness (not, somewhat "
            "or very harmful) and, for harmful memes, the target (individual, organization, community, society). "
            "Warning: the memes contain offensive content."
        ),
        source_layout=HARM_C.layout,
        distribution=_DISTRIBUTION,
        license="other",
        terms=_TERMS,
        citation="""
@inproceedings{pramanick2021harmeme,
  title = {Detecting Harmful Memes and Their Targets},
  author = {Pramanick, Shraman and Dimitrov, Dimitar and Mukherjee, Rituparna and Sharma, Shivam and Akhtar, Md. Shad
            and Nakov, Preslav and Chakraborty, Tanmoy},
  booktitle = {Findings of the Association for Computational Linguistics: ACL-IJCNLP 2021},
  year = {2021}
}""",
        read=_reader(HARM_C),
    ),
    Benchmark(
        name="harmeme-p",
        pretty_name="HarMeme Harm-P",
        tasks=TASKS,
        description=(
            "Harm-P of HarMeme V1: 3,470 memes about US politics with OCR text, labelled for harmfulness (not, "
            "somewhat or very harmful) and, for harmful memes, the target (individual, organization, community, "
            "society). Warning: the memes contain offensive content."
        ),
        source_layout=HARM_P.layout,
        distribution=_DISTRIBUTION,
        license="other",
        terms=_TERMS,
        citation="""
@inproceedings{pramanick2021momenta,
  title = {{MOMENTA}: A Multimodal Framework for Detecting Harmful Memes and Their Targets},
  author = {Pramanick, Shraman and Sharma, Shivam and Dimitrov, Dimitar and Akhtar, Md. Shad and Nakov, Preslav and
            Chakraborty, Tanmoy},
  booktitle = {Findings of the Association for Computational Linguistics: EMNLP 2021},
  year = {2021},
  url = {https://aclanthology.org/2021.findings-emnlp.379}
}""",
        read=_reader(HARM_P),
    ),
)
