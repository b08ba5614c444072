"""Hateful Memes (Kiela et al., NeurIPS 2020): memes made by Facebook AI from licensed stock photos, labelled hateful
or not, with benign confounders that defeat text-only and image-only shortcuts.

Release layout: one JSON-lines file per split, `{train,dev_seen,dev_unseen,test_seen,test_unseen}.jsonl` (any of them;
the phase-1 release had `dev.jsonl` and `test.jsonl`), next to `img/`. Each line has `id`, `img` (`img/05316.png`,
relative to the release folder), `text` and, where labels were released, `label` (0/1). Some copies write `id` as an
integer (losing the leading zero), others as the zero-padded string; the id is therefore taken from the image name.
The image folder is found at any depth below the source by the names in `img` (`img/` next to the files is the usual
one). A `label` is 0 or 1, as an integer, a string ("1") or an integral float (1.0, as pandas may write it); a
boolean, NaN (which JSON readers accept), another float or another string is a bad row.
"""

import os
from collections import Counter
from itertools import combinations
from pathlib import Path, PurePosixPath

from .common import (
    IMAGE_FILE,
    Benchmark,
    Example,
    Problem,
    ReadOptions,
    ReadResult,
    Task,
    class_index,
    find_path,
    locate_image_folder,
    read_jsonl,
    text_or_empty,
)


SPLITS = ("train", "dev_seen", "dev_unseen", "test_seen", "test_unseen")
# Phase 1 of the challenge released `dev.jsonl` and an unlabelled `test.jsonl`; phase 2 renamed them `dev_seen.jsonl`
# and `test_seen.jsonl` (the same memes; test_seen with labels) and added the unseen sets.
PHASE_1 = {"dev": "dev_seen", "test": "test_seen"}
LAYOUT = (
    "`{train,dev_seen,dev_unseen,test_seen,test_unseen}.jsonl` (any of them; keys `id`, `img`, `label`, `text`) next "
    "to the image folder `img/`, as in the release's `data/` folder; the phase-1 files `dev.jsonl` and `test.jsonl` "
    "are read as `dev_seen` and `test_seen`. mmf's `annotations/` with `images/img/` is read too."
)
_FOLDERS = (
    ".",
    "data",
    "hateful_memes",
    "hateful_memes/data",
    "annotations",
    "defaults/annotations",
    "hateful_memes/defaults/annotations",
    "data/datasets/hateful_memes/defaults/annotations",
)
TASKS = (
    Task(
        "hateful",
        ("not hateful", "hateful"),
        ("auroc", "accuracy"),
        report_split="test_seen",
        description=(
            "Many papers report `dev_seen` instead of `test_seen`: check which split a published number refers to. "
            "-1 marks memes of test files released without labels."
        ),
    ),
)


def _split_files(source: Path) -> tuple[dict[str, Path], list[str]]:
    """The annotation file of each split present, and notes on the phase-1 file names met."""
    stems = (*SPLITS, *PHASE_1)
    candidates = [
        f"{stem}.jsonl" if folder == "." else f"{folder}/{stem}.jsonl" for folder in _FOLDERS for stem in stems
    ]
    folder = find_path(source, candidates, "Hateful Memes annotation file", LAYOUT).parent
    files = {split: folder / f"{split}.jsonl" for split in SPLITS if (folder / f"{split}.jsonl").is_file()}
    notes = []
    for old, split in PHASE_1.items():
        path = folder / f"{old}.jsonl"
        if not path.is_file():
            continue
        if split in files:
            notes.append(f"`{old}.jsonl` (phase 1) was not read: `{split}.jsonl`, its phase-2 name, is present.")
        else:
            files[split] = path
            notes.append(f"`{old}.jsonl`, the phase-1 name of `{split}`, is the `{split}` split.")
    return files, notes


def _label(value: object) -> int:
    """0 or 1 from the release's `label`: an integer, a string in some copies, an integral float such as 1.0; a
    LabelError (a ValueError) naming the value for anything else (booleans, NaN, 0.5, "yes")."""
    return class_index(value, "hateful label", 2, strings=True)


def _same_id(meme_id: object, stem: str) -> bool:
    """Whether the row's `id` names the image `stem`; integer ids lost their leading zeros."""
    text = str(meme_id).strip()
    if text.isdigit() and stem.isdigit():
        return int(text) == int(stem)
    return text == stem


def _shared_memes(examples: list[Example]) -> str:
    """A note on the memes that appear in more than one split, counted per pair of splits."""
    splits_of: dict[str, set[str]] = {}
    for example in examples:
        splits_of.setdefault(example.id, set()).add(example.split)
    shared = [splits for splits in splits_of.values() if len(splits) > 1]
    if not shared:
        return "No meme appears in more than one split."
    pairs: Counter[tuple[str, str]] = Counter()
    for splits in shared:
        pairs.update(combinations(sorted(splits, key=SPLITS.index), 2))
    counts = "; ".join(
        f"{first} and {second}: {count}"
        for (first, second), count in sorted(pairs.items(), key=lambda item: tuple(SPLITS.index(split) for split in item[0]))
    )
    return (
        f"{len(shared)} memes appear in more than one split ({counts}); each copy is kept, with the same id, in "
        "each of its splits."
    )


def read(source: Path, options: ReadOptions) -> ReadResult:
    files, notes = _split_files(source)
    folder = next(iter(files.values())).parent
    result = ReadResult()
    unlabelled: Counter[str] = Counter()
    for split, path in files.items():
        rows, problems = read_jsonl(path)
        result.problems += problems
        for line, row in rows:
            origin = f"{path.name}:{line}"
            img = row.get("img")
            if not isinstance(img, str) or not img.strip():
                result.problems.append(Problem(origin, f"no image name in `img` (got {img!r})"))
                continue
            relative = PurePosixPath(img.strip().replace("\\", "/"))
            if "id" in row and not _same_id(row["id"], relative.stem):
                result.problems.append(Problem(origin, f"id {row['id']!r} does not match the image {img!r}"))
                continue
            try:
                label = -1 if row.get("label") is None else _label(row["label"])
            except ValueError as error:
                result.problems.append(Problem(origin, str(error)))
                continue
            unlabelled[split] += label == -1
            result.examples.append(
                Example(
                    id=relative.stem,
                    split=split,
                    image=Path(relative.name),  # the file name; placed in the image folder below
                    text=text_or_empty(row.get("text")),
                    labels={"hateful": label},
                    origin=origin,
                )
            )
    # The usual places, relative to `source`: `img/` next to the annotation files, or mmf's `images/img/` next to its
    # `annotations/`. normpath, not resolve: image paths stay under `source` as given.
    annotations = os.path.relpath(folder, source)
    candidates = [os.path.join(annotations, "img"), os.path.join(annotations, "..", "images", "img")]
    names = {example.image.name for example in result.examples}
    images = locate_image_folder(source, candidates, names, "image folder", LAYOUT, name_pattern=IMAGE_FILE)
    for example in result.examples:
        example.image = images / example.image.name
    result.notes = [
        f"One split per release file: {', '.join(f'`{split}`' for split in files)}. `dev_seen` and `dev_unseen` "
        "share memes, so an id is unique within a split only.",
        _shared_memes(result.examples),
        "Ids are the image names (five digits, zero-padded), whether the release wrote them as strings or integers.",
        *notes,
    ]
    if any(unlabelled.values()):
        counts = ", ".join(f"{split} {count}" for split, count in unlabelled.items() if count)
        result.notes.append(f"Rows without a label (-1 for `hateful`): {counts}.")
    return result


BENCHMARKS = (
    Benchmark(
        name="hateful-memes",
        pretty_name="Hateful Memes",
        tasks=TASKS,
        description=(
            "Memes built by Facebook AI from stock photos (licensed from Getty Images) and meme text, labelled "
            "hateful or not hateful. Benign confounders (the same text with another image, or the same image with "
            "another text) make text-only and image-only shortcuts fail. The phase-2 release has train (8,500), "
            "dev_seen (500), dev_unseen (540), test_seen (1,000) and test_unseen (2,000). Warning: the memes contain "
            "offensive content."
        ),
        source_layout=LAYOUT,
        distribution=(
            "originally by Meta (Facebook AI) through the DrivenData Hateful Memes challenge "
            "(https://www.drivendata.org/competitions/70/hateful-memes-phase-2/), where it can no longer be "
            "downloaded; copies of the release circulate as mirrors (for instance on the Hugging Face Hub)"
        ),
        license="other",
        terms=(
            "Meta's Hateful Memes dataset licence: the data may be used for research only, not commercially, and may "
            "not be redistributed beyond what the licence allows; the images are licensed from Getty Images. Keep a "
            "converted copy in a private repository, and cite the paper."
        ),
        citation="""
@inproceedings{kiela2020hateful,
  title = {The Hateful Memes Challenge: Detecting Hate Speech in Multimodal Memes},
  author = {Kiela, Douwe and Firooz, Hamed and Mohan, Aravind and Goswami, Vedanuj and Singh, Amanpreet and Ringshia,
            Pratik and Testuggine, Davide},
  booktitle = {Advances in Neural Information Processing Systems},
  volume = {33},
  year = {2020}
}""",
        read=read,
        splits=SPLITS,
        disjoint_splits=False,
    ),
)
