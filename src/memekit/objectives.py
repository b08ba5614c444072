"""Auxiliary training objectives that any memekit model can use: a small registry of loss modules.

    memekit train ... --objectives itc:0.1 itm:0.1

- `itc`: image-text contrastive loss (Sánchez Villegas et al., EACL Findings 2024): CLIP-style symmetric InfoNCE
  between the model's trainable per-modality representations of the posts of a batch, with a learnable temperature
  (initialised to 0.07, as CLIP).
- `itm`: image-text matching (same paper): for each post, with probability 0.5 its text is replaced by the text of
  another post of the batch; a 2-way head on the fused representation predicts whether the pair matches. Pairs are
  drawn from a generator seeded by the run's seed and the number of draws so far (saved with the training state), so
  runs, resumed runs and evaluations are reproducible.
- `clfa_alignment`: the contrastive alignment of CLFA's students to its frozen CLIP teacher, for models that compute
  it (they return `alignment_loss`).

The task loss and the auxiliary losses are combined as in Sánchez Villegas et al.: `(1 - sum(w)) * CE + sum(w_k * L_k)`
(w = 0.1 each by default, so CE keeps 0.8 with both).

A model takes part through two methods: `itc_representations(outputs)` returns the (image, text) vectors to contrast,
and `itm_fused(outputs, text_order)` returns the fused representation (of width `fused_dim`) of each image with the
text of post `text_order[i]`, reusing the encoders' outputs (frozen features are not recomputed). MemeCLIP contrasts
its two adapted, normalised vectors before fusion; CDGLT has no trainable per-modality vectors, so it supports ITM
only.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


OBJECTIVES: dict[str, type["Objective"]] = {}


def register_objective(name: str):
    def register(cls: type["Objective"]) -> type["Objective"]:
        cls.name = name
        OBJECTIVES[name] = cls
        return cls

    return register


def _base(model: nn.Module) -> nn.Module:
    """The memekit model inside DDP / PEFT wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "get_base_model"):
            model = model.get_base_model()
        else:
            return model


class Objective(nn.Module):
    """An auxiliary loss: `forward(model, outputs)` returns a scalar from the model's outputs on a batch."""

    name = "objective"

    def __init__(self, weight: float, model: nn.Module, seed: int = 0):
        super().__init__()
        if not 0.0 < weight < 1.0:
            raise ValueError(f"The weight of objective {self.name!r} must be in (0, 1), got {weight!r}.")
        self.weight = weight

    def forward(self, model: nn.Module, outputs) -> torch.Tensor:
        raise NotImplementedError


def _require(model: nn.Module, method: str, objective: str) -> None:
    if not hasattr(_base(model), method):
        raise ValueError(
            f"{type(_base(model)).__name__} does not support the {objective!r} objective (no `{method}`)."
        )


@register_objective("itc")
class ImageTextContrastive(Objective):
    def __init__(self, weight: float, model: nn.Module, seed: int = 0):
        super().__init__(weight, model, seed)
        _require(model, "itc_representations", "itc")
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, model: nn.Module, outputs) -> torch.Tensor:
        image, text = _base(model).itc_representations(outputs)
        image, text = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
        logits = self.logit_scale.exp() * text @ image.t()
        targets = torch.arange(len(logits), device=logits.device)
        return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets))


@register_objective("itm")
class ImageTextMatching(Objective):
    def __init__(self, weight: float, model: nn.Module, seed: int = 0):
        super().__init__(weight, model, seed)
        _require(model, "itm_fused", "itm")
        self.head = nn.Linear(_base(model).fused_dim, 2)
        self.seed = seed
        # Draws count: with the seed it fixes the next draw, and being a buffer it is saved with the training state.
        self.register_buffer("draws", torch.zeros((), dtype=torch.long))

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Text order and match labels: each post keeps its text (label 1) or, with probability 0.5, takes the text
        of another post of the batch (label 0). A batch of one always matches."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + int(self.draws))
        self.draws += 1
        order = torch.arange(batch_size)
        if batch_size < 2:
            return order, torch.ones(batch_size, dtype=torch.long)
        swap = torch.rand(batch_size, generator=generator) < 0.5
        shift = torch.randint(1, batch_size, (batch_size,), generator=generator)
        order = torch.where(swap, (order + shift) % batch_size, order)
        return order, (~swap).long()

    def forward(self, model: nn.Module, outputs) -> torch.Tensor:
        batch_size = len(outputs.logits)
        order, labels = self.sample(batch_size)
        device = outputs.logits.device
        fused = _base(model).itm_fused(outputs, order.to(device))
        return F.cross_entropy(self.head(fused), labels.to(device))


@register_objective("clfa_alignment")
class CLFAAlignment(Objective):
    def forward(self, model: nn.Module, outputs) -> torch.Tensor:
        loss = getattr(outputs, "alignment_loss", None)
        if loss is None:
            raise ValueError(
                "The 'clfa_alignment' objective needs a model that returns `alignment_loss` (CLFA with its teacher or "
                "cached teacher embeddings)."
            )
        return loss


def parse_objectives(specs: list[str]) -> list[tuple[str, float]]:
    """`["itc:0.1", "itm"]` -> `[("itc", 0.1), ("itm", 0.1)]`; the weights must leave the task loss a share."""
    parsed = []
    for spec in specs:
        name, _, weight = spec.partition(":")
        if name not in OBJECTIVES:
            raise ValueError(f"Unknown objective {name!r} in {spec!r}; choose from {sorted(OBJECTIVES)}.")
        try:
            parsed.append((name, float(weight) if weight else 0.1))
        except ValueError:
            raise ValueError(f"Objective weight in {spec!r} is not a number; write e.g. `{name}:0.1`.") from None
    if len({name for name, _ in parsed}) != len(parsed):
        raise ValueError(f"Each objective may be given once, got {specs!r}.")
    if sum(weight for _, weight in parsed) >= 1.0:
        raise ValueError(
            f"The objective weights must sum to less than 1 (the task loss keeps the rest), got {specs!r}."
        )
    return parsed


class CombinedLoss(nn.Module):
    """`(1 - sum(w)) * task loss + sum(w_k * L_k)` over the objectives; their parameters train with the model."""

    def __init__(self, objectives: list[tuple[str, float]], model: nn.Module, seed: int = 0):
        super().__init__()
        self.objectives = nn.ModuleList(OBJECTIVES[name](weight, model, seed) for name, weight in objectives)

    def forward(self, model: nn.Module, outputs) -> tuple[torch.Tensor, dict[str, float]]:
        task_loss = getattr(outputs, "classification_loss", None)
        task_loss = outputs.loss if task_loss is None else task_loss
        share = 1.0 - sum(objective.weight for objective in self.objectives)
        total, parts = share * task_loss, {"task": task_loss.item()}
        for objective in self.objectives:
            loss = objective(model, outputs)
            total = total + objective.weight * loss
            parts[objective.name] = loss.item()
        return total, parts
