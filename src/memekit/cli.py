"""The `memekit` command: `demo`, `predict`, `data` (prepare, list benchmarks) and `convert` (official checkpoints)."""

import argparse
import csv
import json
import logging
import sys
from pathlib import Path
from typing import Any


logger = logging.getLogger("memekit")


def _read_memes_file(path: Path) -> tuple[list[str], list[str | None]]:
    """Image paths (relative to the file's folder) and texts of a JSONL or CSV file with `image` and `text` columns."""
    if not path.is_file():
        raise FileNotFoundError(f"`--input` file not found: {str(path)!r}.")
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as file:
            rows = [json.loads(line) for line in file if line.strip()]
    elif path.suffix == ".csv":
        # Read as plain strings: no "None"/"NA" -> NaN conversion behind the user's back.
        with open(path, encoding="utf-8", newline="") as file:
            rows = list(csv.DictReader(file))
    else:
        raise ValueError(f"`--input` must be a .jsonl or .csv file, got {str(path)!r}.")
    for number, row in enumerate(rows, start=1):
        if "image" not in row:
            raise ValueError(f"Row {number} of {str(path)!r} has no `image` column; expected `image` and `text`.")
    images = [str(path.parent / row["image"]) for row in rows]
    texts = [row.get("text") for row in rows]
    return images, texts


def _print_table(images: list[str], texts: list[str | None], predictions: list[dict[str, Any]]) -> None:
    rows = [("image", "text", "label", "score")]
    for image, text, prediction in zip(images, texts, predictions):
        text = "" if text is None else str(text)
        text = text if len(text) <= 40 else text[:37] + "..."
        rows.append((Path(image).name, text, prediction["label"], f"{prediction['score']:.3f}"))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _predictions_json(images: list[str], texts: list[str | None], predictions: list[dict[str, Any]]) -> str:
    records = [
        {"image": image, "text": text, **prediction} for image, text, prediction in zip(images, texts, predictions)
    ]
    return json.dumps(records, indent=2, ensure_ascii=False)


def run_demo(args: argparse.Namespace) -> None:
    from importlib.resources import files

    from memekit.tiny import tiny_memeclip

    memes_file = Path(str(files("memekit.demo_data").joinpath("memes.jsonl")))
    images, texts = _read_memes_file(memes_file)
    labels = ["Benign Meme", "Harmful Meme"]
    model, processor = tiny_memeclip(labels)
    predictions = model.predict(images, texts, processor=processor)
    print(
        "memekit demo: a tiny, randomly initialised MemeCLIP (CLIP hidden size 32, classifier set by Semantic-Aware "
        "Initialisation from the class names) predicts on the sample memes shipped with memekit.\n"
        "It has learned nothing, so the labels below are random; the demo shows the pipeline, not a result.\n"
    )
    if args.json:
        print(_predictions_json(images, texts, predictions))
    else:
        _print_table(images, texts, predictions)


def run_predict(args: argparse.Namespace) -> None:
    from transformers import AutoModel, AutoProcessor

    import memekit  # noqa: F401  (registers memekit's model types with the Auto classes)

    if args.input is not None:
        if args.images or args.texts:
            raise ValueError("Pass either `--input FILE` or `--images`/`--texts`, not both.")
        images, texts = _read_memes_file(Path(args.input))
    else:
        images, texts = args.images or [], args.texts or []
        if not images:
            raise ValueError(
                "Nothing to predict: pass `--images PATH ...` with `--texts TEXT ...`, or `--input FILE`."
            )
        if len(images) != len(texts):
            raise ValueError(f"Got {len(images)} images but {len(texts)} texts; pass one `--texts` entry per image.")
    model = AutoModel.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    processor = AutoProcessor.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    if not hasattr(model, "predict"):
        raise ValueError(f"{args.model!r} is not a memekit classifier (its model has no `predict`).")
    predictions = model.predict(images, texts, processor=processor, batch_size=args.batch_size)
    if args.json:
        print(_predictions_json(images, texts, predictions))
    else:
        _print_table(images, texts, predictions)


def run_convert(args: argparse.Namespace) -> None:
    common = {
        "checkpoint": args.checkpoint,
        "clip": args.clip,
        "task": args.task,
        "output": args.output,
        "tokenizer": args.tokenizer,
        "unsafe_pickle": args.unsafe_pickle,
    }
    if args.model == "memeclip":
        from memekit.convert.memeclip import convert_memeclip

        convert_memeclip(**common)
    else:
        from memekit.convert.cdglt import convert_cdglt

        convert_cdglt(gpt2=args.gpt2, **common)
    print(f"Converted {args.model} ({args.task}) written to {args.output}")


def run_data_prepare(args: argparse.Namespace) -> None:
    from memekit.data import prepare_benchmark

    output = prepare_benchmark(
        args.name,
        args.source,
        args.output,
        skip_bad=args.skip_bad,
        overwrite=args.overwrite,
        seed=args.seed,
    )
    print(
        f"Prepared {args.name} in {output}; load it with memekit.data.load_benchmark({args.name!r}, {str(output)!r})"
    )


def run_data_list(args: argparse.Namespace) -> None:
    from memekit.dataset_scripts import BENCHMARKS

    rows = [("name", "tasks (classes)", "reported")]
    for name, benchmark in sorted(BENCHMARKS.items()):
        tasks = ", ".join(f"{task.name} ({task.num_labels})" for task in benchmark.tasks)
        reported = "; ".join(sorted({f"{', '.join(t.metrics)} on {t.report_split}" for t in benchmark.tasks}))
        rows.append((name, tasks, reported))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def build_parser() -> argparse.ArgumentParser:
    from memekit.convert.cdglt import CDGLT_TASK_LABELS
    from memekit.convert.memeclip import MEMECLIP_TASK_LABELS
    from memekit.dataset_scripts import BENCHMARKS

    parser = argparse.ArgumentParser(prog="memekit", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="Log progress (INFO level).")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="Predict on the bundled sample memes with a tiny random MemeCLIP.")
    demo.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    demo.set_defaults(run=run_demo)

    predict = commands.add_parser("predict", help="Classify memes with a saved model folder or Hub id.")
    predict.add_argument("model", help="Folder written by `save_pretrained`, or a Hub id.")
    predict.add_argument("--images", nargs="+", help="Image files.")
    predict.add_argument("--texts", nargs="+", help="One text per image.")
    predict.add_argument("--input", help="A .jsonl or .csv file with `image` (relative to the file) and `text`.")
    predict.add_argument("--batch-size", type=int, default=16)
    predict.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    predict.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="Run the model code stored in MODEL instead of the installed memekit's (needed for non-memekit models).",
    )
    predict.set_defaults(run=run_predict)

    data = commands.add_parser("data", help="Benchmarks as datasets: prepare a release, list the benchmarks.")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    prepare = data_commands.add_parser("prepare", help="Convert an official release into a Hub-ready dataset folder.")
    prepare.add_argument("name", choices=sorted(BENCHMARKS), help="The benchmark.")
    prepare.add_argument("--source", required=True, help="Folder holding the release as distributed.")
    prepare.add_argument("--output", required=True, help="Folder to write (Parquet shards and a dataset card).")
    prepare.add_argument("--skip-bad", action="store_true", help="Drop rows that cannot be converted (counted).")
    prepare.add_argument("--overwrite", action="store_true", help="Replace an existing output folder.")
    prepare.add_argument("--seed", type=int, default=0, help="Seed of the split where no official one exists (MVSA).")
    prepare.set_defaults(run=run_data_prepare)
    data_commands.add_parser("list", help="The benchmarks and their tasks.").set_defaults(run=run_data_list)

    convert = commands.add_parser("convert", help="Convert an official checkpoint into a memekit model folder.")
    models = convert.add_subparsers(dest="model", required=True)
    memeclip = models.add_parser("memeclip", help="Official MemeCLIP Lightning checkpoint or state dict.")
    memeclip.add_argument("--task", required=True, choices=sorted(MEMECLIP_TASK_LABELS))
    cdglt = models.add_parser("cdglt", help="Official CDGLT state dict.")
    cdglt.add_argument("--task", required=True, choices=sorted(CDGLT_TASK_LABELS))
    cdglt.add_argument("--gpt2", required=True, help="GPT-2 it was built on: Hub id or folder (gives its config).")
    for subparser in (memeclip, cdglt):
        subparser.add_argument("--checkpoint", required=True, help="The official checkpoint file.")
        subparser.add_argument(
            "--clip",
            required=True,
            help="CLIP the model was trained on: Hub id or folder (transformers), or an OpenAI-format .pt file.",
        )
        subparser.add_argument("--output", required=True, help="Folder to write.")
        subparser.add_argument(
            "--tokenizer", help="Hub id or folder of the CLIP tokenizer (defaults to --clip, or ViT-L/14's for a .pt)."
        )
        subparser.add_argument(
            "--unsafe-pickle",
            action="store_true",
            help="Allow non-tensor objects in the checkpoint (runs pickled code: trusted files only).",
        )
        subparser.set_defaults(run=run_convert)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        args.run(args)
    except (ValueError, OSError) as error:
        print(f"memekit {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
