"""MemeCLIP's reported figures (compatibility mode) as an `evaluate` metric (logits and references, in order)."""

import datasets
import evaluate

from memekit.metrics import memeclip_compat_metrics


class MemeCLIPCompat(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="MemeCLIP's batch-size-weighted means of per-batch AUROC (sigmoid logits) and macro-F1, as "
            "the original code reports them; for comparison with the paper only, not sound evaluation.",
            citation="",
            inputs_description="logits: per-class scores per example, in evaluation order; references: classes.",
            features=datasets.Features(
                {"logits": datasets.Sequence(datasets.Value("float32")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, logits, references, batch_size=16):
        return memeclip_compat_metrics(references, logits, batch_size=batch_size)
