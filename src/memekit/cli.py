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
    """Image paths (relative to the file's folder) and texts of a JSONL or CSV file with `image` and `text` columns.

    Every image is checked before any prediction: a row without a usable image path, or whose image is missing, not
    decodable or a decompression bomb, is an error naming the row (its line) and the file.
    """
    from PIL import Image

    from memekit.data import image_problem
    from memekit.dataset_scripts.common import read_csv, read_jsonl

    if not path.is_file():
        raise FileNotFoundError(f"`--input` file not found: {str(path)!r}.")
    if path.suffix == ".jsonl":
        rows, problems = read_jsonl(path)
        if problems:
            raise ValueError(f"`--input` {str(path)!r}: {problems[0]}.")
    elif path.suffix == ".csv":
        # Read as plain strings: no "None"/"NA" -> NaN conversion behind the user's back.
        rows = read_csv(path)
    else:
        raise ValueError(f"`--input` must be a .jsonl or .csv file, got {str(path)!r}.")
    if not rows:
        raise ValueError(f"`--input` {str(path)!r} has no rows.")
    images, texts = [], []
    for line, row in rows:
        where = f"`--input` {path.name}:{line}"
        image = row.get("image")
        if "image" not in row:
            raise ValueError(f"{where} has no `image` column; expected `image` and `text`.")
        if not isinstance(image, str) or not image.strip():
            raise ValueError(f"{where}: `image` must be a path relative to the file, got {image!r}.")
        problem = image_problem(path.parent / image, Image.MAX_IMAGE_PIXELS, path.parent)
        if problem is not None:
            raise ValueError(f"{where}: {problem}.")
        images.append(str(path.parent / image))
        texts.append(row.get("text"))
    return images, texts


def _check_images(images: list[str]) -> None:
    """The same image checks as `memekit data prepare` (missing, not decodable, decompression bomb), naming the
    argument's position."""
    from PIL import Image

    from memekit.data import image_problem

    for index, image in enumerate(images, start=1):
        problem = image_problem(Path(image), Image.MAX_IMAGE_PIXELS)
        if problem is not None:
            raise ValueError(f"`--images` entry {index}: {problem}.")


def _print_table(
    images: list[str], texts: list[str | None], predictions: list[dict[str, Any]], extra: str | None = None
) -> None:
    rows = [("image", "text", "label", "score", *([extra] if extra else []))]
    for image, text, prediction in zip(images, texts, predictions):
        text = "" if text is None else str(text)
        text = text if len(text) <= 40 else text[:37] + "..."
        row = (Path(image).name, text, prediction["label"], f"{prediction['score']:.3f}")
        rows.append((*row, *([str(prediction[extra])] if extra else [])))
    _print_rows(rows)


def _print_rows(rows: list[tuple[str, ...]]) -> None:
    """Left-aligned columns; the first row is the header, underlined."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
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
    """Generate the demo benchmark, train a tiny MemeCLIP on it, report, and predict on the shipped sample memes."""
    from importlib.resources import files

    from memekit.data import prepare_benchmark
    from memekit.demo_data.synthetic import write_demo_release
    from memekit.tiny import tiny_memeclip
    from memekit.train import main as train

    from memekit.outputs import check_replaceable, replacing

    folder = Path(args.output)
    # The demo writes only its own subfolders of --output, and replaces one on a rerun only if an earlier demo wrote
    # it (each carries a manifest): anything else there is the user's and stays untouched. All are checked first.
    parts = {"release": "demo release", "data": "dataset", "init": "demo model", "run": "demo run"}
    for name, kind in parts.items():
        check_replaceable(folder / name, kind, overwrite=True, argument=f"--output {folder}: subfolder")
    print(f"memekit demo: generating the demo memes in {folder}/ ...")
    with replacing(folder / "release", parts["release"], overwrite=True) as release_folder:
        write_demo_release(release_folder, seed=0)
    prepare_benchmark("demo-memes", folder / "release", folder / "data", overwrite=True)
    labels = ["mismatch", "match"]
    model, processor = tiny_memeclip(labels, seed=0)
    with replacing(folder / "init", parts["init"], overwrite=True) as init_folder:
        model.save_pretrained(init_folder)
        processor.save_pretrained(init_folder)
    print("Training a tiny MemeCLIP (random frozen CLIP of hidden size 32; only the head learns) ...")
    # In place: the run records its own folder in its card, so it is not built under another name.
    with replacing(folder / "run", parts["run"], overwrite=True, in_place=True) as run_folder:
        summary = train(
            ["--dataset", "demo-memes", "--task", "match", "--data-dir", str(folder / "data"),
             "--init-from", str(folder / "init"), "--epochs", "30", "--batch-size", "16", "--learning-rate", "1e-3",
             "--selection-metric", "accuracy", "--seeds", "0", "--output-dir", str(run_folder),
             "--feature-cache-dir", str(folder / "feature_cache")]
        )  # fmt: skip
    release = folder / "run" / "seed_0" / "model"
    results = json.loads((release / "eval_results.json").read_text())
    test = results["test"]
    print(
        "\nThe label says whether the caption names the picture's colour: neither the image nor the text alone tells "
        "(chance: 0.50).\n"
        f"test ({test['num_examples']} memes): accuracy {test['accuracy']:.3f}, macro-F1 {test['macro_f1']:.3f}, "
        f"AUROC {test['auroc']:.3f} (model selected at epoch {results['best_epoch']} on validation)\n"
        f"Report, model card and the released model: {release}/ (eval_results.json, README.md, confusion_matrix.png)\n"
    )
    memes_file = Path(str(files("memekit.demo_data").joinpath("memes.jsonl")))
    images, texts = _read_memes_file(memes_file)
    with open(memes_file, encoding="utf-8") as file:
        expected = [json.loads(line)["expected"] for line in file if line.strip()]
    from transformers import AutoModel

    predictions = AutoModel.from_pretrained(release).predict(images, texts)
    print("The released model on the sample memes shipped with memekit (RGB, RGBA, palette and CMYK files):")
    for prediction, answer in zip(predictions, expected):
        prediction["expected"] = answer
    if args.json:
        print(_predictions_json(images, texts, predictions))
    else:
        _print_table(images, texts, predictions, extra="expected")
    logger.info("Summary over seeds: %s", summary)


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
        _check_images(images)
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
        "overwrite": args.overwrite,
    }
    if args.model == "memeclip":
        from memekit.convert.memeclip import convert_memeclip

        convert_memeclip(**common)
    else:
        from memekit.convert.cdglt import convert_cdglt

        convert_cdglt(gpt2=args.gpt2, **common)
    print(f"Converted {args.model} ({args.task}) written to {args.output}")


def run_data_prepare(args: argparse.Namespace) -> None:
    from memekit.data import prepare_benchmark, prepare_custom

    from memekit.data import class_counts

    options = {"skip_bad": args.skip_bad, "overwrite": args.overwrite, "seed": args.seed}
    if args.name == "custom":
        if not args.label_columns:
            raise ValueError("`custom` needs `--label-columns COLUMN [COLUMN ...]`.")
        output = prepare_custom(
            args.source,
            args.output,
            args.label_columns,
            image_column=args.image_column,
            text_column=args.text_column,
            split_column=args.split_column,
            id_column=args.id_column,
            image_root=args.image_root,
            classes=_parse_classes(args.classes, args.label_columns),
            **options,
        )
    else:
        for option in ("label_columns", "classes", "image_root", "split_column", "id_column"):
            if getattr(args, option) is not None:
                raise ValueError(f"`--{option.replace('_', '-')}` is for `custom` data only, not {args.name!r}.")
        output = prepare_benchmark(args.name, args.source, args.output, **options)
    print(
        f"Prepared {args.name} in {output}; load it with memekit.data.load_benchmark({args.name!r}, {str(output)!r})"
    )
    if args.name == "custom":
        for task, splits in class_counts(output).items():
            print(f"\nClass counts of {task!r} per split:")
            names = list(dict.fromkeys(name for counts in splits.values() for name in counts))
            rows = [(name, *(str(splits[split].get(name, 0)) for split in splits)) for name in names]
            _print_rows([("class", *splits), *rows])


def _parse_classes(values: list[str] | None, label_columns: list[str] | None) -> dict[str, list[str]] | None:
    """`--classes A B C` (one label column) or `--classes COLUMN=A,B,C ...` (any number of label columns)."""
    if not values:
        return None
    if all("=" in value for value in values):
        classes = {}
        for value in values:
            column, _, names = value.partition("=")
            classes[column.strip()] = [name.strip() for name in names.split(",")]
        return classes
    if any("=" in value for value in values):
        raise ValueError(f"`--classes` mixes COLUMN=A,B forms and plain class names: {values}; use one form.")
    if label_columns is not None and len(label_columns) > 1:
        raise ValueError(
            f"With {len(label_columns)} label columns, give `--classes COLUMN=A,B,C` for each of them, got {values}."
        )
    return {label_columns[0]: list(values)} if label_columns else None


def run_data_list(args: argparse.Namespace) -> None:
    from memekit.dataset_scripts import BENCHMARKS

    rows = [("name", "tasks (classes)", "reported")]
    for name, benchmark in sorted(BENCHMARKS.items()):
        tasks = ", ".join(f"{task.name} ({task.num_labels})" for task in benchmark.tasks)
        reported = "; ".join(sorted({f"{', '.join(t.metrics)} on {t.report_split}" for t in benchmark.tasks}))
        rows.append((name, tasks, reported))
    _print_rows(rows)


def run_evaluate(args: argparse.Namespace) -> None:
    from memekit.evaluation import evaluate_model, format_report

    report = evaluate_model(
        args.model,
        args.data,
        split=args.split,
        dataset=args.dataset,
        task=args.task,
        output=args.output,
        compat=args.compat,
        batch_size=args.batch_size,
        trust_remote_code=args.trust_remote_code,
    )
    print(format_report(report))
    if args.output:
        print(f"Report written to {args.output}/eval_results.json")


def run_push(args: argparse.Namespace) -> None:
    from memekit.release import push_folder

    url = push_folder(args.folder, args.repo_id, private=args.private)
    print(f"Pushed {args.folder} to {args.repo_id}: {url}")


def build_parser() -> argparse.ArgumentParser:
    from memekit.convert.cdglt import CDGLT_TASK_LABELS
    from memekit.convert.memeclip import MEMECLIP_TASK_LABELS
    from memekit.dataset_scripts import BENCHMARKS

    parser = argparse.ArgumentParser(prog="memekit", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="Log progress (INFO level).")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="Train and evaluate a tiny MemeCLIP on generated memes (offline, about a minute), then predict."
    )
    demo.add_argument("--output", default="memekit-demo", help="Working folder (data, run, report).")
    demo.add_argument("--json", action="store_true", help="Print the predictions as JSON instead of a table.")
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

    # `memekit train` hands its arguments to memekit.train (see `memekit train --help`).
    commands.add_parser(
        "train", help="Train and evaluate a model (all options: memekit train --help).", add_help=False
    )

    evaluate = commands.add_parser("evaluate", help="Evaluate a saved or Hub model on a prepared benchmark.")
    evaluate.add_argument("model", help="Model folder or Hub id.")
    evaluate.add_argument("--data", required=True, help="Folder written by `memekit data prepare`.")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--dataset", help="Benchmark name (default: read from the folder's dataset card).")
    evaluate.add_argument("--task", help="Task (default: the one whose classes are the model's).")
    evaluate.add_argument("--output", help="Folder for eval_results.json and confusion_matrix.png.")
    evaluate.add_argument("--compat", default="none", choices=["none", "memeclip", "cdglt"])
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--trust-remote-code", action="store_true")
    evaluate.set_defaults(run=run_evaluate)

    push = commands.add_parser("push", help="Upload a release folder to a Hub model repository.")
    push.add_argument("folder")
    push.add_argument("repo_id")
    push.add_argument("--private", action="store_true")
    push.set_defaults(run=run_push)

    data = commands.add_parser("data", help="Benchmarks as datasets: prepare a release, list the benchmarks.")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    prepare = data_commands.add_parser("prepare", help="Convert an official release into a Hub-ready dataset folder.")
    prepare.add_argument("name", choices=[*sorted(BENCHMARKS), "custom"], help="The benchmark, or `custom`.")
    prepare.add_argument(
        "--source", required=True, help="Folder holding the release as distributed (custom: your CSV/JSONL file)."
    )
    prepare.add_argument("--output", required=True, help="Folder to write (Parquet shards and a dataset card).")
    prepare.add_argument("--skip-bad", action="store_true", help="Drop rows that cannot be converted (counted).")
    prepare.add_argument("--overwrite", action="store_true", help="Replace an existing output folder.")
    prepare.add_argument("--seed", type=int, default=0, help="Seed of the split where no official one exists (MVSA).")
    custom = prepare.add_argument_group("custom data (your own CSV or JSON-lines file)")
    custom.add_argument("--label-columns", nargs="+", help="One task per label column.")
    custom.add_argument(
        "--image-column", default="image", help="Image paths, relative to the file's folder (or --image-root)."
    )
    custom.add_argument(
        "--image-root", help="Folder the image paths are relative to; every image must lie inside it (default: the "
        "file's folder)."
    )
    custom.add_argument(
        "--classes",
        nargs="+",
        help="The allowed label values, in class order: `A B C` (one label column) or `COLUMN=A,B,C ...`; any other "
        "value is a bad row.",
    )
    custom.add_argument("--text-column", default="text")
    custom.add_argument("--split-column", help="train/validation/test per row (default: seeded 8:1:1 split).")
    custom.add_argument("--id-column", help="Row ids (default: the image path).")
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
            "--overwrite", action="store_true", help="Replace an existing --output folder that memekit wrote."
        )
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
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:
        from memekit.train import main as train_main

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        try:
            train_main(argv[1:])
        except (ValueError, OSError) as error:
            print(f"memekit train: error: {error}", file=sys.stderr)
            return 2
        return 0
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
