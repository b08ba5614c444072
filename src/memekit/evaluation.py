"""Evaluate any saved or Hub memekit model on a split of a prepared benchmark (`memekit evaluate`)."""

import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm


logger = logging.getLogger(__name__)


def task_of_model(model, benchmark) -> str:
    """The benchmark task whose class names are the model's labels."""
    names = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
    matches = [task.name for task in benchmark.tasks if task.class_names == names]
    if len(matches) != 1:
        raise ValueError(
            f"Cannot tell which task of {benchmark.name} the model's classes {list(names)} belong to; pass `--task` "
            f"(one of {[task.name for task in benchmark.tasks]})."
        )
    return matches[0]


def evaluate_model(
    model_name_or_path: str,
    data_dir: str | Path,
    split: str = "test",
    dataset: str | None = None,
    task: str | None = None,
    output: str | Path | None = None,
    compat: str = "none",
    batch_size: int = 32,
    trust_remote_code: bool = False,
) -> dict:
    """
    Metrics of a model on one split (see `memekit.metrics.classification_report`), written with a confusion matrix to
    `output` when given.
    """
    from transformers import AutoModel, AutoProcessor

    import memekit  # noqa: F401  (registers memekit's model types)
    from memekit.data import benchmark_name_of, benchmark_of, load_benchmark
    from memekit.release import save_confusion_matrix
    from memekit.train import _RawCollator, evaluation_report

    data_dir = Path(data_dir)
    benchmark = benchmark_of(dataset or benchmark_name_of(data_dir), data_dir)
    model = AutoModel.from_pretrained(model_name_or_path, trust_remote_code=trust_remote_code).eval()
    processor = AutoProcessor.from_pretrained(model_name_or_path, trust_remote_code=trust_remote_code)
    task = task or task_of_model(model, benchmark)
    class_names = list(benchmark.task(task).class_names)
    if model.config.num_labels != len(class_names):
        raise ValueError(f"The model has {model.config.num_labels} classes but task {task!r} has {len(class_names)}.")
    splits = load_benchmark(benchmark.name, data_dir, decode_images=False)  # bytes: no EXIF rotation
    if split not in splits:
        raise ValueError(f"{str(data_dir)!r} has no split {split!r}; it has {sorted(splits)}.")
    rows = splits[split]
    rows = rows.select([i for i, label in enumerate(rows[task]) if label >= 0])
    loader = DataLoader(rows, batch_size=batch_size, collate_fn=_RawCollator(processor, task))
    all_logits, all_labels = [], []
    with torch.no_grad():
        for batch in tqdm(loader, desc=f"evaluate {split}"):
            all_labels.append(batch.pop("labels"))
            all_logits.append(model(**batch).logits.float())
    labels, logits = torch.cat(all_labels).numpy(), torch.cat(all_logits).numpy()
    report = {
        "model": str(model_name_or_path),
        "dataset": benchmark.name,
        "task": task,
        "split": split,
        **evaluation_report(labels, logits, class_names, compat),
    }
    if output is not None:
        output = Path(output)
        output.mkdir(parents=True, exist_ok=True)
        (output / "eval_results.json").write_text(json.dumps(report, indent=2))
        save_confusion_matrix(report["confusion_matrix"], class_names, output / "confusion_matrix.png", split)
    return report


def format_report(report: dict) -> str:
    lines = [f"{report['dataset']} / {report['task']} / {report['split']} ({report['num_examples']} examples)"]
    for metric in ("accuracy", "macro_f1", "weighted_f1", "auroc"):
        lines.append(f"  {metric:<12} {report[metric]:.4f}")
    lines.append("  per class:    precision  recall  f1      support")
    for name, values in report["per_class"].items():
        lines.append(
            f"  {name[:12]:<12} {values['precision']:.4f}     {values['recall']:.4f}  {values['f1']:.4f}  "
            f"{values['support']}"
        )
    matrix = np.array(report["confusion_matrix"])
    lines.append("  confusion matrix (rows: true, columns: predicted):")
    lines += ["    " + " ".join(f"{count:>5}" for count in row) for row in matrix]
    for key in ("compat_memeclip", "compat_cdglt"):
        if key in report:
            lines.append(f"  {key} (the original code's way, for comparison only): {json.dumps(report[key])}")
    return "\n".join(lines)
