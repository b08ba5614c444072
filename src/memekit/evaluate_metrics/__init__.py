"""memekit's metrics as local `evaluate` modules: `evaluate.load(memekit.evaluate_metrics.path(NAME))`.

The canonical `evaluate` metrics live on the Hub and cannot load offline; these load from the installed package.

- `meme_classification`: the whole-split report of `memekit.metrics.classification_report` (from logits);
- `memeclip_compat`: MemeCLIP's batch-of-16 figures (compatibility mode, from logits, in order);
- `cdglt_weighted_f1`: CDGLT's harmonic-mean "weighted F1" (compatibility mode, from predictions).
"""

from pathlib import Path


NAMES = ("meme_classification", "memeclip_compat", "cdglt_weighted_f1")


def path(name: str) -> str:
    """The folder `evaluate.load` takes for metric `name`."""
    if name not in NAMES:
        raise ValueError(f"Unknown memekit metric {name!r}; choose one of {NAMES}.")
    return str(Path(__file__).parent / name)
