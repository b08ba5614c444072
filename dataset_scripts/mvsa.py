"""MVSA (Niu et al., MMM 2016): tweets with an image, labelled positive/neutral/negative for the text and the image.

Release layout, the same for both sets: `labelResultAll.txt` (a header line starting with `ID`, then one line per
post: the integer id and, tab-separated, `text_label,image_label` once in MVSA-Single and once per annotator, three
times, in MVSA-Multiple) and `data/{ID}.jpg` with the tweet text in `data/{ID}.txt` (the post folder may be nested
deeper, e.g. `data/data/`: it is the folder below the label file's that holds the images the labels name). The text
files are not all UTF-8, so they are decoded with the UTF-8 -> Windows-1252 -> Latin-1 fallback of
`common.read_text`. A label is one of the three class names (any case); anything else is a bad row.

The release has one label per modality (per annotator in Multiple) and no split. The usual rule of Xu & Mao
(MultiSentiNet, CIKM 2017) gives one label per post: in Multiple, first a majority vote (2 of 3) per modality; then
equal text and image labels give that label, one neutral and one polar label give the polar one, and positive with
negative drops the post. The kept posts are split 8:1:1 per class with a seeded shuffle.
"""

import re
from collections import Counter
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
    read_text,
    stratified_split,
)


CLASS_NAMES = ("positive", "neutral", "negative")
TASKS = (
    Task(
        "sentiment",
        CLASS_NAMES,
        ("accuracy", "weighted_f1"),
        description="One label per post from the text and image labels (the MultiSentiNet rule, see Conversion).",
    ),
)
_ID = re.compile(r"[0-9]+")
_IMAGE_NAME = re.compile(r"[0-9]+\.(?:jpe?g|png)", re.IGNORECASE)
_ANNOTATORS = {"Single": 1, "Multiple": 3}
_OTHER = {"Single": "Multiple", "Multiple": "Single"}


_FILES = (
    "and `data/{ID}.jpg` with `data/{ID}.txt` (the tweet; `data/` may be nested deeper), at the top of the source "
    "folder or one level down in a folder such as `MVSA_%s`, `MVSA-%s` or `MVSA`."
)
LAYOUT_SINGLE = (
    "`labelResultAll.txt` (a header line, then `ID<TAB>text_label,image_label` per post; labels positive, neutral, "
    "negative) " + _FILES % ("Single", "Single")
)
LAYOUT_MULTIPLE = (
    "`labelResultAll.txt` (a header line, then `ID<TAB>text,image<TAB>text,image<TAB>text,image` per post, one pair "
    "per annotator; labels positive, neutral, negative) " + _FILES % ("Multiple", "Multiple")
)


def _folders(kind: str) -> list[str]:
    """The folder names the release and its mirrors use, e.g. `MVSA_Single`, `MVSA-Single`, `MVSA`."""
    names = [f"MVSA{sep}{case(kind)}" for sep in ("_", "-", " ") for case in (str.capitalize, str.lower)]
    return [*names, f"mvsa_{kind.lower()}", "MVSA"]


def _label(value: str) -> int:
    name = value.strip().lower()
    if name not in CLASS_NAMES:
        raise LabelError(f"label {value.strip()!r} is not one of {list(CLASS_NAMES)}")
    return CLASS_NAMES.index(name)


def _annotation(field: str) -> tuple[int, int]:
    """One `text_label,image_label` pair as class indices."""
    parts = field.split(",")
    if len(parts) != 2:
        raise LabelError(f"annotation {field.strip()!r} is not `text_label,image_label`")
    return _label(parts[0]), _label(parts[1])


def _majority(votes: list[int]) -> int | None:
    """The label more than half the annotators gave, or None when they disagree."""
    label, count = Counter(votes).most_common(1)[0]
    return label if 2 * count > len(votes) else None


def _combine(text: int, image: int) -> int | None:
    """One label from the text and image labels: equal -> it; neutral with polar -> the polar one; else None."""
    neutral = CLASS_NAMES.index("neutral")
    if text == image or image == neutral:
        return text
    if text == neutral:
        return image
    return None


def _read(source: Path, options: ReadOptions, kind: str, layout: str) -> ReadResult:
    """Read one MVSA set: parse the labels, apply the label rule, find the post folder, read the kept posts' texts,
    split them."""
    labels_path = find_path(
        source,
        ["labelResultAll.txt", *(f"{folder}/labelResultAll.txt" for folder in _folders(kind))],
        "label file",
        layout,
    )
    annotators = _ANNOTATORS[kind]
    result = ReadResult()
    kept: list[tuple[str, int, str]] = []  # (id, label, origin) of the posts the label rule keeps
    no_majority = conflicting = 0
    header = True
    for number, line in enumerate(read_text(labels_path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip().split("\t")
        post_id = fields[0].strip()
        if header:
            header = False
            if post_id.lower() == "id":
                continue
        origin = f"{labels_path.name}:{number}"
        if not _ID.fullmatch(post_id):
            result.problems.append(Problem(origin, f"id {post_id!r} is not an integer"))
            continue
        if len(fields) - 1 != annotators:
            reason = f"expected {annotators} tab-separated `text,image` annotations, got {len(fields) - 1}"
            if len(fields) - 1 == _ANNOTATORS[_OTHER[kind]]:
                reason += f" (is this MVSA-{_OTHER[kind]}? convert it as mvsa-{_OTHER[kind].lower()})"
            result.problems.append(Problem(origin, reason))
            continue
        try:
            pairs = [_annotation(field) for field in fields[1:]]
        except LabelError as error:
            result.problems.append(Problem(origin, str(error)))
            continue
        text_label, image_label = (_majority([pair[modality] for pair in pairs]) for modality in (0, 1))
        if text_label is None or image_label is None:
            no_majority += 1
            continue
        label = _combine(text_label, image_label)
        if label is None:
            conflicting += 1
            continue
        kept.append((post_id, label, origin))

    # Searched below the label file's folder only: a download may hold MVSA-Single and MVSA-Multiple side by side,
    # and their post ids overlap.
    names = {f"{post_id}.jpg" for post_id, _, _ in kept}
    data = locate_image_folder(labels_path.parent, ["data"], names, "post folder", layout, name_pattern=_IMAGE_NAME)
    shown = data.relative_to(source).as_posix()
    for post_id, label, origin in kept:
        text_path = data / f"{post_id}.txt"
        try:
            text = read_text(text_path).rstrip()
        except FileNotFoundError:
            result.problems.append(Problem(origin, f"text file '{shown}/{text_path.name}' not found"))
            continue
        except OSError as error:
            result.problems.append(Problem(origin, f"text file '{shown}/{text_path.name}' cannot be read ({error})"))
            continue
        result.examples.append(
            Example(
                id=post_id,
                split="",  # set by stratified_split below
                image=data / f"{post_id}.jpg",
                text=text,
                labels={"sentiment": label},
                origin=origin,
            )
        )

    vote = ""
    if annotators > 1:
        vote = (
            f"first each modality's label is the majority vote of the {annotators} annotators (at least 2 agree; "
            f"{no_majority} posts without a majority for the text or the image dropped); then "
        )
    rule = (
        f"Label rule (Xu & Mao, MultiSentiNet, CIKM 2017): {vote}equal text and image labels give that label, one "
        f"neutral and one polar label give the polar label, positive with negative drops the post ({conflicting} "
        "posts dropped)."
    )
    sizes = stratified_split(result.examples, "sentiment", options.seed)
    result.notes = [
        rule,
        f"The release has no split: the {len(result.examples)} posts kept are split 8:1:1 within each class with a "
        f"seeded shuffle (seed {options.seed}): train {sizes['train']}, validation {sizes['validation']}, test "
        f"{sizes['test']}. These sizes include posts dropped afterwards for a missing or broken image, if any.",
        "Texts are the tweets of `data/{ID}.txt` without trailing whitespace; ids are the release's post ids.",
    ]
    return result


def read_single(source: Path, options: ReadOptions) -> ReadResult:
    return _read(source, options, "Single", LAYOUT_SINGLE)


def read_multiple(source: Path, options: ReadOptions) -> ReadResult:
    return _read(source, options, "Multiple", LAYOUT_MULTIPLE)


BENCHMARKS = tuple(
    Benchmark(
        name=f"mvsa-{kind.lower()}",
        pretty_name=f"MVSA-{kind}",
        tasks=TASKS,
        description=(
            f"{size} tweets with an image, each labelled positive, neutral or negative for its text and for its "
            f"image by {annotators}; memekit combines these into one sentiment label per post ({kept} posts "
            "remain on the full release)."
        ),
        source_layout=layout,
        distribution=(
            f"the MVSA page of the authors' MCR Lab, "
            "http://www.mcrlab.net/research/mvsa-sentiment-analysis-on-multi-view-social-data/ (OneDrive and BaiduYun "
            f"archives of MVSA-{kind}); mirrors on Kaggle"
        ),
        license="other",
        terms=(
            "The release states no licence: the MCR Lab distributes it for research. The tweets and images come "
            "from Twitter (now X) and remain subject to its terms and to their authors' rights; use them for "
            "research only."
        ),
        citation="""
@inproceedings{niu2016mvsa,
  title = {Sentiment Analysis on Multi-View Social Data},
  author = {Niu, Teng and Zhu, Shiai and Pang, Lei and El Saddik, Abdulmotaleb},
  booktitle = {MultiMedia Modeling (MMM 2016)},
  series = {Lecture Notes in Computer Science},
  volume = {9517},
  pages = {15--27},
  publisher = {Springer},
  year = {2016},
  doi = {10.1007/978-3-319-27674-8_2}
}""",
        read=read,
    )
    for kind, read, layout, size, annotators, kept in (
        ("Single", read_single, LAYOUT_SINGLE, "5,129", "one annotator", "about 4,511"),
        ("Multiple", read_multiple, LAYOUT_MULTIPLE, "19,600", "each of three annotators", "about 17,024"),
    )
)
