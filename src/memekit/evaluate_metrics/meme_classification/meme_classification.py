"""Whole-split classification report of memekit as an `evaluate` metric (inputs: logits and references)."""

import datasets
import evaluate

from memekit.metrics import classification_report


class MemeClassification(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Accuracy, macro/weighted F1, softmax AUROC, per-class figures and confusion matrix over the "
            "whole split (memekit.metrics.classification_report).",
            citation="",
            inputs_description="logits: list of per-class scores per example; references: class indices.",
            features=datasets.Features(
                {"logits": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, logits, references, class_names=None):
        class_names = class_names or [str(index) for index in range(len(logits[0]))]
        return classification_report(references, logits, class_names)
