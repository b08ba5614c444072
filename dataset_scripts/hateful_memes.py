"""Hateful Memes (Kiela et al., NeurIPS 2020): memes made by Facebook AI from licensed stock photos, labelled hateful
or not, with benign confounders that defeat text-only and image-only shortcuts.

Release layout: one JSON-lines file per split, `{train,dev_seen,dev_unseen,test_seen,test_unseen}.jsonl` (any of them;
the phase-1 release had `dev.jsonl` and `test.jsonl`), next to `img/`. Each line has `id`, `img` (`img/05316.png`,
relative to the release folder), `text` and, where labels were released, `label` (0/1). Some copies write `id` as an
integer (losing the leading zero), others as the zero-padded string; the id is therefore taken from the image name.
"""

import os
from collections import Counter
from pathlib import Path, PurePosixPath

from .common import Benchmark, Example, Problem, ReadOptions, ReadResult, Task, find_path, read_jsonl, text_or_empty


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
    """0 or 1 from the release's `label` (an integer; a string in some copies); ValueError for anything else."""
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return int(value)
    raise ValueError(f"hateful label {value!r} is not 0 or 1")


def _same_id(meme_id: object, stem: str) -> bool:
    """Whether the row's `id` names the image `stem`; integer ids lost their leading zeros."""
    text = str(meme_id).strip()
    if text.isdigit() and stem.isdigit():
        return int(text) == int(stem)
    return text == stem


def read(source: Path, options: ReadOptions) -> ReadResult:
    files, notes = _split_files(source)
    folder = next(iter(files.values())).parent
    # normpath, not resolve: image paths stay under `source` as given (error messages name them relative to it).
    images = Path(os.path.normpath(find_path(folder, ["img", "../images/img"], "image folder", LAYOUT)))
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
            image = images.parent / relative
            if not image.is_file() and (images / relative.name).is_file():
                image = images / relative.name  # `img` without the `img/` folder
            result.examples.append(
                Example(
                    id=relative.stem,
                    split=split,
                    image=image,
                    text=text_or_empty(row.get("text")),
                    labels={"hateful": label},
                    origin=origin,
                )
            )
    result.notes = [
        f"One split per release file: {', '.join(f'`{split}`' for split in files)}. `dev_seen` and `dev_unseen` "
        "share memes, so an id is unique within a split only.",
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
