"""Classification metrics over a whole split, and the original papers' own (batch-level) figures for comparison.

`classification_report` is what memekit reports: every figure is computed once over all examples of the split.

The compatibility functions reproduce how the original code computed the numbers in the papers, so that users can
compare like with like; they are not sound evaluation and are labelled as such in every report:

- `memeclip_compat_metrics`: MemeCLIP logs torchmetrics' AUROC and macro-F1 of each batch of 16 (on sigmoid(logits),
  so no softmax) and reports their batch-size-weighted mean. Within a batch, a class without positives or without
  negatives gets AUROC 0, and a class with no support and no prediction is left out of the macro-F1.
- `cdglt_weighted_f1`: CDGLT's "weighted F1" is the harmonic mean of the weighted precision and the weighted recall,
  not scikit-learn's weighted F1.
"""

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
)


def _check(labels: np.ndarray, scores: np.ndarray, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or labels.ndim != 1 or len(labels) != len(scores):
        raise ValueError(
            f"Expected `labels` of shape (n,) and scores of shape (n, num_classes), got {labels.shape} and "
            f"{scores.shape}."
        )
    if len(labels) == 0:
        raise ValueError("Cannot compute metrics on an empty split.")
    num_classes = scores.shape[1] if num_classes is None else num_classes
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"`labels` must be class indices in 0..{num_classes - 1}, got values from {labels.min()} to "
            f"{labels.max()}; drop unlabelled rows (-1) before computing metrics."
        )
    return labels.astype(np.int64), scores


def softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _one_vs_rest_auroc(labels: np.ndarray, scores: np.ndarray, missing_class_value: float | None) -> float:
    """Mean over classes of the AUROC of each class's score against the rest.

    A class without positives or negatives counts as `missing_class_value`, or is left out when that is None.
    """
    values = []
    for index in range(scores.shape[1]):
        positives = labels == index
        if positives.all() or not positives.any():
            if missing_class_value is not None:
                values.append(missing_class_value)
            continue
        values.append(roc_auc_score(positives, scores[:, index]))
    return float(np.mean(values)) if values else float("nan")


def classification_report(labels, logits, class_names: list[str]) -> dict:
    """
    Metrics of a whole split from the labels and the model's logits.

    Returns accuracy, macro-F1, weighted-F1 (scikit-learn's), AUROC on softmax probabilities (binary: of the positive
    class; more classes: one-vs-rest macro over the classes present with both positives and negatives), per-class
    precision/recall/F1/support, and the confusion matrix (rows: true class, columns: predicted class).
    """
    labels, logits = _check(labels, logits, len(class_names))
    probabilities = softmax(logits)
    predictions = probabilities.argmax(axis=-1)
    classes = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=classes, zero_division=0
    )
    if len(class_names) == 2:
        auroc = float(roc_auc_score(labels, probabilities[:, 1])) if len(set(labels.tolist())) == 2 else float("nan")
    else:
        auroc = _one_vs_rest_auroc(labels, probabilities, missing_class_value=None)
    return {
        "num_examples": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predictions)),
        "macro_f1": float(f1_score(labels, predictions, labels=classes, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(labels, predictions, labels=classes, average="weighted", zero_division=0)),
        "auroc": auroc,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": confusion_matrix(labels, predictions, labels=classes).tolist(),
    }


def _batch_macro_f1(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    scores = []
    for index in range(num_classes):
        true_positive = int(((predictions == index) & (labels == index)).sum())
        false_positive = int(((predictions == index) & (labels != index)).sum())
        false_negative = int(((predictions != index) & (labels == index)).sum())
        if true_positive + false_positive + false_negative == 0:
            continue  # neither present nor predicted in this batch: left out, as torchmetrics does
        scores.append(2 * true_positive / (2 * true_positive + false_positive + false_negative))
    return float(np.mean(scores)) if scores else 0.0


def memeclip_compat_metrics(labels, logits, batch_size: int = 16) -> dict:
    """
    MemeCLIP's reported figures (compatibility mode, not sound evaluation): accuracy, and the batch-size-weighted mean
    over consecutive batches of `batch_size` (in the given order) of the batch's AUROC on sigmoid(logits) and of the
    batch's macro-F1, with torchmetrics' conventions.
    """
    labels, logits = _check(labels, logits)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
    # fp32 sigmoid as in the original: large logits saturate to exactly 1.0 and tie.
    scores = (1.0 / (1.0 + np.exp(-logits.astype(np.float32)))).astype(np.float32)
    predictions = logits.argmax(axis=-1)
    aurocs, f1s, sizes = [], [], []
    for start in range(0, len(labels), batch_size):
        batch = slice(start, start + batch_size)
        aurocs.append(_one_vs_rest_auroc(labels[batch], scores[batch], missing_class_value=0.0))
        f1s.append(_batch_macro_f1(labels[batch], predictions[batch], logits.shape[1]))
        sizes.append(len(labels[batch]))
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "auroc_batch_mean": float(np.average(aurocs, weights=sizes)),
        "macro_f1_batch_mean": float(np.average(f1s, weights=sizes)),
        "batch_size": batch_size,
    }


def cdglt_weighted_f1(labels, predictions) -> float:
    """CDGLT's "weighted F1" (compatibility mode): 2PR/(P+R) of weighted precision P and weighted recall R."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(
            f"`labels` and `predictions` must be 1-d and equally long, got {labels.shape}, {predictions.shape}."
        )
    precision = precision_score(labels, predictions, average="weighted", zero_division=0)
    recall = recall_score(labels, predictions, average="weighted", zero_division=0)
    return float(2 * precision * recall / (precision + recall)) if precision + recall > 0 else 0.0
