"""CDGLT's "weighted F1" (compatibility mode) as an `evaluate` metric (inputs: predictions and references)."""

import datasets
import evaluate

from memekit.metrics import cdglt_weighted_f1


class CDGLTWeightedF1(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Harmonic mean of weighted precision and weighted recall, as CDGLT's code reports 'weighted "
            "F1'; for comparison with the paper only (scikit-learn's weighted F1 differs).",
            citation="",
            inputs_description="predictions and references: class indices.",
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references):
        return {"weighted_f1_harmonic": cdglt_weighted_f1(references, predictions)}
