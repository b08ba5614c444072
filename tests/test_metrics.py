import math

import numpy as np
import pytest

from memekit.metrics import cdglt_weighted_f1, classification_report, memeclip_compat_metrics


def logit(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p / (1 - p))


def logits_for_probabilities(p1):
    """Binary logits whose softmax gives P(class 1) = p1."""
    return np.stack([np.zeros(len(p1)), logit(p1)], axis=1)


def test_report_of_a_binary_split():
    report = classification_report([0, 1, 1, 0], logits_for_probabilities([0.2, 0.7, 0.4, 0.6]), ["no", "yes"])
    assert report["accuracy"] == 0.5
    assert report["auroc"] == pytest.approx(0.75)  # 3 of the 4 (positive, negative) pairs ordered correctly
    assert report["macro_f1"] == pytest.approx(0.5) and report["weighted_f1"] == pytest.approx(0.5)
    assert report["confusion_matrix"] == [[1, 1], [1, 1]]
    assert report["per_class"]["yes"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert report["num_examples"] == 4


def test_report_of_a_three_class_split_with_an_absent_class():
    labels = [0, 0, 1, 1, 1]
    probabilities = [[0.7, 0.2, 0.1], [0.3, 0.45, 0.25], [0.1, 0.8, 0.1], [0.5, 0.35, 0.15], [0.25, 0.15, 0.6]]
    logits = np.log(np.array(probabilities))
    report = classification_report(labels, logits, ["a", "b", "c"])
    # Predictions [0, 1, 1, 0, 2]; class c has no example, so AUROC averages classes a and b only.
    assert report["accuracy"] == pytest.approx(2 / 5)
    auroc_a = 5 / 6  # positives (0.7, 0.3) above negatives (0.1, 0.5, 0.25) in 5 of 6 pairs
    auroc_b = 3 / 6  # positives (0.8, 0.35, 0.15) above negatives (0.2, 0.45) in 3 of 6 pairs
    assert report["auroc"] == pytest.approx((auroc_a + auroc_b) / 2)
    assert report["confusion_matrix"] == [[1, 1, 0], [1, 1, 1], [0, 0, 0]]
    f1_a, f1_b = 2 * 0.5 * 0.5 / 1.0, 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3)
    assert report["macro_f1"] == pytest.approx((f1_a + f1_b + 0) / 3)
    assert report["weighted_f1"] == pytest.approx((2 * f1_a + 3 * f1_b) / 5)


def test_memeclip_compatibility_mode_reproduces_batch_means():
    # Batch 1 (4 memes, class 2 absent): per-class AUROC 1, 0.5 and 0 (absent) -> 0.5; predictions [0, 1, 0, 2]
    # give F1 1, 2/3 and 0 -> 5/9. Batch 2 (2 memes, class 0 only): AUROC 0 (no negatives; others absent); F1 over
    # class 0 alone -> 1. Means weighted by batch size 4 and 2. (Values checked against torchmetrics 1.9.0.)
    probabilities = [
        [0.9, 0.2, 0.1], [0.3, 0.8, 0.4], [0.6, 0.5, 0.2], [0.2, 0.1, 0.7],
        [0.8, 0.3, 0.1], [0.7, 0.6, 0.2],
    ]  # fmt: skip
    labels = [0, 1, 0, 1, 0, 0]
    result = memeclip_compat_metrics(labels, logit(probabilities), batch_size=4)
    assert result["auroc_batch_mean"] == pytest.approx((0.5 * 4 + 0.0 * 2) / 6, abs=1e-6)
    assert result["macro_f1_batch_mean"] == pytest.approx((5 / 9 * 4 + 1.0 * 2) / 6, abs=1e-6)
    assert result["accuracy"] == pytest.approx(5 / 6)  # only the fourth meme is misclassified
    full_split = classification_report(labels, logit(probabilities), ["a", "b", "c"])
    assert result["auroc_batch_mean"] != pytest.approx(full_split["auroc"])


def test_memeclip_compatibility_mode_saturates_like_fp32():
    # sigmoid(30) and sigmoid(20) are both exactly 1.0 in fp32: the tie costs half a pair.
    result = memeclip_compat_metrics([1, 0], np.array([[0.0, 30.0], [0.0, 20.0]]), batch_size=16)
    assert result["auroc_batch_mean"] == pytest.approx(0.5)


def test_cdglt_weighted_f1_is_the_harmonic_mean_of_weighted_precision_and_recall():
    labels, predictions = [0, 0, 1, 1, 2], [0, 1, 1, 1, 0]
    precision = (0.5 * 2 + (2 / 3) * 2 + 0 * 1) / 5
    recall = (0.5 * 2 + 1.0 * 2 + 0 * 1) / 5
    assert cdglt_weighted_f1(labels, predictions) == pytest.approx(2 * precision * recall / (precision + recall))
    sklearn_weighted_f1 = (0.5 * 2 + 0.8 * 2) / 5
    assert not math.isclose(cdglt_weighted_f1(labels, predictions), sklearn_weighted_f1)


@pytest.mark.parametrize(
    "labels, logits, fragment",
    [
        ([0, -1], [[0.0, 1.0], [1.0, 0.0]], "drop unlabelled rows"),
        ([0, 1, 1], [[0.0, 1.0], [1.0, 0.0]], "shape"),
        ([], np.zeros((0, 2)), "empty"),
    ],
)
def test_bad_inputs(labels, logits, fragment):
    with pytest.raises(ValueError, match=fragment):
        classification_report(labels, logits, ["a", "b"])


def test_local_evaluate_modules_load_offline():
    import evaluate

    from memekit import evaluate_metrics

    probabilities = [[0.9, 0.2, 0.1], [0.3, 0.8, 0.4], [0.6, 0.5, 0.2], [0.2, 0.1, 0.7], [0.8, 0.3, 0.1]]
    logits, labels = logit(probabilities).tolist(), [0, 1, 0, 1, 0]

    compat = evaluate.load(evaluate_metrics.path("memeclip_compat"))
    compat.add_batch(logits=logits[:3], references=labels[:3])
    compat.add_batch(logits=logits[3:], references=labels[3:])
    assert compat.compute(batch_size=4) == pytest.approx(memeclip_compat_metrics(labels, logit(probabilities), 4))

    report = evaluate.load(evaluate_metrics.path("meme_classification"))
    result = report.compute(logits=logits, references=labels, class_names=["a", "b", "c"])
    assert result == classification_report(labels, logits, ["a", "b", "c"])

    harmonic = evaluate.load(evaluate_metrics.path("cdglt_weighted_f1"))
    value = harmonic.compute(predictions=[0, 1, 1, 1, 0], references=[0, 0, 1, 1, 2])["weighted_f1_harmonic"]
    assert value == pytest.approx(cdglt_weighted_f1([0, 0, 1, 1, 2], [0, 1, 1, 1, 0]))
    with pytest.raises(ValueError, match="Unknown memekit metric"):
        evaluate_metrics.path("accuracy")
