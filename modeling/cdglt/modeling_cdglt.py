"""CDGLT: CLIP features, a SLERP "concept drift" vector and a frozen GPT-2 with LayerNorm tuning.

The architecture follows the official code (Qianvenh/CDGLT at commit 7223869, class `Meteor`), which differs from the
paper in places; those places carry a `# Code vs paper:` comment. Module names follow the official state dict
(`adapter.0`, `feature_projection`, `prompt_embedding`, `classifier`), with `gpt2_model` shortened to `gpt2` and the
bare `scale` parameter moved into a small `gate` module so PEFT can save it.
"""

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import CLIPModel, GPT2Model, PreTrainedModel
from transformers.utils import ModelOutput, logging

from .configuration_cdglt import CDGLTConfig


logger = logging.get_logger(__name__)


@dataclass
class CDGLTOutput(ModelOutput):
    """
    Output of [`CDGLTForClassification`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            Cross-entropy loss.
        logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`):
            Classification scores.
        image_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            CLIP's projected image embedding (not normalised): the image input of the head.
        text_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            CLIP's projected text embedding (not normalised): the text input of the head.
        drift_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            The unit-norm concept-drift vector (absent when `use_concept_drift=False`).
        fused_embeds (`torch.FloatTensor` of shape `(batch_size, n_embd)`):
            The fused token fed to GPT-2 after the prompt.
        pooled_embeds (`torch.FloatTensor` of shape `(batch_size, n_embd)`):
            The gated mix of GPT-2's last two states, the classifier's input.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    image_embeds: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    drift_embeds: torch.FloatTensor | None = None
    fused_embeds: torch.FloatTensor | None = None
    pooled_embeds: torch.FloatTensor | None = None


def slerp(start: torch.Tensor, end: torch.Tensor, alpha: float, epsilon: float = 1e-6) -> torch.Tensor:
    """
    Spherical interpolation between the directions of `start` (alpha 0) and `end` (alpha 1), as the original computes
    it: both are L2-normalised, and `epsilon` is added to the angle (not to its sine), so that identical directions
    give a finite result.
    """
    start, end = F.normalize(start, dim=-1), F.normalize(end, dim=-1)
    # The clamp only matters where rounding pushes the cosine past +-1 (the original returns NaN there).
    cosine = (start * end).sum(dim=-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cosine) + epsilon
    return (torch.sin((1 - alpha) * omega) * start + torch.sin(alpha * omega) * end) / torch.sin(omega)


class ScalarGate(nn.Module):
    """Learned mix `sigmoid(w) * last + (1 - sigmoid(w)) * second_to_last` of two token states; `w` starts at 0."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, last: torch.Tensor, second_to_last: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.weight)
        return gate * last + (1 - gate) * second_to_last


class CDGLTPreTrainedModel(PreTrainedModel):
    config_class = CDGLTConfig
    base_model_prefix = "cdglt"
    main_input_name = "pixel_values"
    _no_split_modules = ["CLIPEncoderLayer", "CLIPTextEmbeddings", "CLIPVisionEmbeddings", "GPT2Block"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # The original heads use PyTorch's defaults, not GPT-2's normal(0.02): Linear kaiming-uniform, Xavier-uniform
        # prompt, zero gate. (CLIP and GPT-2 modules are initialised by their own `_init_weights`.)
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                bound = 1 / math.sqrt(module.in_features)
                nn.init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, ScalarGate):
            nn.init.zeros_(module.weight)
        elif isinstance(module, CDGLTForClassification):
            nn.init.xavier_uniform_(module.prompt_embedding)


class CDGLTForClassification(CDGLTPreTrainedModel):
    r"""
    CDGLT classifier. CLIP's projected image and text embeddings, plus their SLERP "concept drift" vector, are fused
    into one token; GPT-2 reads a frozen soft prompt followed by that token, and a gated mix of its last two states
    is classified.

    Forward contract shared by every memekit model: pass either raw inputs (`pixel_values`, `input_ids`,
    `attention_mask`) or the cached CLIP features (`image_embeds`, `text_embeds`); both give the same logits.

    Example:

    ```python
    >>> from peft import get_peft_model
    >>> from memekit import CDGLTForClassification
    >>> from memekit.peft import cdglt_ln_tuning_config
    >>> model = CDGLTForClassification.from_pretrained_backbones(
    ...     clip="openai/clip-vit-large-patch14", gpt2="openai-community/gpt2", labels=["literal", "metaphorical"]
    ... )
    >>> model = get_peft_model(model, cdglt_ln_tuning_config(model))
    >>> model.print_trainable_parameters()  # 3,187,203 trainable, as the original
    ```
    """

    def __init__(self, config: CDGLTConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.clip = CLIPModel._from_config(config.clip_config)
        self.gpt2 = GPT2Model._from_config(config.gpt2_config)
        if config.freeze_backbones:
            self.clip.requires_grad_(False)
            self.gpt2.requires_grad_(False)

        feature_dim, hidden = config.feature_dim, config.gpt2_config.n_embd
        num_features = 3 if config.use_concept_drift else 2
        # Code vs paper: the figure draws the fused features as text / SLERP / image; the code concatenates
        # [image, drift, text], which fixes the weight layout of `adapter.0`.
        self.adapter = nn.Sequential(nn.Linear(num_features * feature_dim, feature_dim), nn.GELU())
        self.feature_projection = nn.Linear(feature_dim, hidden)
        # Code vs paper: the "prompt" is a frozen, randomly initialised soft prompt. The per-task text templates the
        # paper describes are tokenised by the original but never reach the model. A buffer keeps it frozen and saved
        # with the model (PEFT adapters do not hold it).
        self.register_buffer("prompt_embedding", torch.empty(config.prompt_length, hidden))
        self.gate = ScalarGate()
        self.classifier = nn.Linear(hidden, config.num_labels)
        self.post_init()

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> "CDGLTForClassification":
        model = super().from_pretrained(*args, **kwargs)
        # transformers re-creates every loaded parameter with `requires_grad=True`; freeze the backbones again.
        if model.config.freeze_backbones:
            model.clip.requires_grad_(False)
            model.gpt2.requires_grad_(False)
        return model

    @classmethod
    def from_pretrained_backbones(
        cls,
        clip: str | os.PathLike,
        gpt2: str | os.PathLike,
        labels: list[str],
        **config_kwargs: Any,
    ) -> "CDGLTForClassification":
        """
        Build a fresh CDGLT on pretrained, frozen CLIP and GPT-2, with heads initialised as in the original.

        Args:
            clip (`str` or `os.PathLike`): Hub id or folder of a `CLIPModel`, e.g. `"openai/clip-vit-large-patch14"`.
            gpt2 (`str` or `os.PathLike`): Hub id or folder of a GPT-2, e.g. `"openai-community/gpt2"`.
            labels (`list[str]`): class names in label-index order.
            config_kwargs: further [`CDGLTConfig`] fields.
        """
        if isinstance(labels, str) or not labels or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(f"`labels` must be a non-empty list of class names, got {labels!r}.")
        if len(set(labels)) != len(labels):
            raise ValueError(f"`labels` must be unique, got {labels!r}.")
        clip_model = CLIPModel.from_pretrained(clip)
        gpt2_model = GPT2Model.from_pretrained(gpt2)
        config = CDGLTConfig(
            clip_config=clip_model.config,
            gpt2_config=gpt2_model.config,
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            **config_kwargs,
        )
        model = cls(config)
        # Swap in the loaded backbones rather than copying their weights into the randomly initialised ones.
        model.clip = clip_model.requires_grad_(not config.freeze_backbones)
        model.gpt2 = gpt2_model.requires_grad_(not config.freeze_backbones)
        return model

    # ----------------------------------------------------------------------------------------------- CLIP features
    def _clip_grad_enabled(self) -> bool:
        # A frozen CLIP runs without autograd bookkeeping; if any CLIP weight is tuned it keeps the graph.
        return torch.is_grad_enabled() and any(p.requires_grad for p in self.clip.parameters())

    def get_image_embeds(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """CLIP's projected image embedding (CLS -> post-LayerNorm -> visual projection), not normalised."""
        with torch.set_grad_enabled(self._clip_grad_enabled()):
            return self.clip.visual_projection(self.clip.vision_model(pixel_values=pixel_values).pooler_output)

    def get_text_embeds(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """CLIP's projected text embedding (EOT state -> text projection), not normalised."""
        with torch.set_grad_enabled(self._clip_grad_enabled()):
            pooled = self.clip.text_model(input_ids=input_ids, attention_mask=attention_mask).pooler_output
            return self.clip.text_projection(pooled)

    # ------------------------------------------------------------------------------------------------------- head
    def fuse(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The fused GPT-2 input token of each meme, and the concept-drift vector it was built from."""
        drift = None
        if self.config.use_concept_drift:
            # Code vs paper: alpha is fixed (0.8) and deterministic, the same in training and inference; the vector
            # lies on the arc between image and text (an interpolation, not an extrapolation beyond them).
            drift = slerp(image_embeds, text_embeds, self.config.slerp_alpha, self.config.slerp_epsilon)
            features = torch.cat([image_embeds, drift, text_embeds], dim=-1)
        else:
            features = torch.cat([image_embeds, text_embeds], dim=-1)
        return self.feature_projection(self.adapter(features)), drift

    def pool(self, fused: torch.Tensor) -> torch.Tensor:
        """Run GPT-2 on `[prompt, fused]` (default positions 0..prompt_length) and mix its last two states."""
        prompt = self.prompt_embedding.to(fused.dtype).expand(fused.shape[0], -1, -1)
        hidden = self.gpt2(inputs_embeds=torch.cat([prompt, fused[:, None]], dim=1)).last_hidden_state
        # Code vs paper: under causal attention the second-to-last (prompt) state never sees the meme, so this
        # "interpolation of the last two tokens" is the last state plus a learned, sample-independent vector.
        return self.gate(hidden[:, -1], hidden[:, -2])

    def forward(
        self,
        pixel_values: torch.FloatTensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        image_embeds: torch.FloatTensor | None = None,
        text_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
    ) -> CDGLTOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, 3, height, width)`, *optional*):
                Images prepared by the processor. Give these or `image_embeds`.
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
                Token ids from CLIP's tokenizer. Give these or `text_embeds`.
            attention_mask (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
                Padding mask for `input_ids`.
            image_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`, *optional*):
                Cached CLIP image embeddings (the `image_embeds` of an earlier output).
            text_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`, *optional*):
                Cached CLIP text embeddings (the `text_embeds` of an earlier output).
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
                Class indices; when given, the output carries the cross-entropy `loss`.
        """
        image_embeds = _exactly_one("pixel_values", pixel_values, "image_embeds", image_embeds, self.get_image_embeds)
        text_embeds = _exactly_one(
            "input_ids", input_ids, "text_embeds", text_embeds, lambda ids: self.get_text_embeds(ids, attention_mask)
        )
        fused, drift = self.fuse(image_embeds, text_embeds)
        pooled = self.pool(fused)
        logits = self.classifier(pooled)

        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits, labels.to(logits.device))
        return CDGLTOutput(
            loss=loss,
            logits=logits,
            image_embeds=image_embeds,
            text_embeds=text_embeds,
            drift_embeds=drift,
            fused_embeds=fused,
            pooled_embeds=pooled,
        )

    # ------------------------------------------------------------------ auxiliary objectives (memekit.objectives)
    @property
    def fused_dim(self) -> int:
        """Width of the fused representation (`pooled_embeds`)."""
        return self.config.gpt2_config.n_embd

    def itm_fused(self, outputs: CDGLTOutput, text_order: torch.Tensor) -> torch.Tensor:
        """Fused representation of image i with the text of post `text_order[i]` (for image-text matching). CDGLT has
        no trainable per-modality vectors (its CLIP features are frozen), so it offers no `itc_representations`."""
        fused, _ = self.fuse(outputs.image_embeds, outputs.text_embeds[text_order])
        return self.pool(fused)

    @torch.no_grad()
    def predict(
        self,
        images: list[Any],
        texts: list[str | None],
        processor: Any = None,
        batch_size: int = 16,
    ) -> list[dict[str, Any]]:
        """
        Classify memes from their images and texts.

        Args:
            images (`list`): PIL images, numpy arrays or paths to image files.
            texts (`list[str | None]`): the text of each meme (missing text is allowed).
            processor (*optional*): the model's processor; defaults to the one saved beside the model.
            batch_size (`int`, *optional*, defaults to 16): memes per forward pass.

        Returns:
            `list[dict]`: per meme, `label`, `score` (its probability) and `probabilities` (class name -> probability).
        """
        return _predict(self, images, texts, processor, batch_size)


# Copied from memekit.modeling.memeclip.modeling_memeclip._exactly_one (bundles are flat: they cannot share a file)
def _exactly_one(raw_name: str, raw: Any, cached_name: str, cached: Any, compute: Any) -> torch.Tensor:
    if (raw is None) == (cached is None):
        raise ValueError(
            f"Pass exactly one of `{raw_name}` (raw input) or `{cached_name}` (cached CLIP features), got "
            f"{'both' if raw is not None else 'neither'}."
        )
    return compute(raw) if cached is None else cached


# Copied from memekit.modeling.memeclip.modeling_memeclip._predict
def _predict(model: PreTrainedModel, images: list, texts: list, processor: Any, batch_size: int) -> list[dict]:
    if isinstance(images, (str, os.PathLike)) or not isinstance(images, (list, tuple)):
        raise TypeError(f"`images` must be a list of images or paths, got {type(images).__name__}.")
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError(f"`texts` must be a list of strings (one per image), got {type(texts).__name__}.")
    if len(images) != len(texts):
        raise ValueError(f"`images` and `texts` must have the same length, got {len(images)} and {len(texts)}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
    if processor is None:
        processor = _load_processor(model)
    was_training = model.training
    model.eval()
    id2label = model.config.id2label
    device = next(model.parameters()).device
    results = []
    try:
        for start in range(0, len(images), batch_size):
            inputs = processor(
                images=list(images[start : start + batch_size]),
                text=list(texts[start : start + batch_size]),
                return_tensors="pt",
            )
            inputs = {key: value.to(device) for key, value in inputs.items()}
            probabilities = model(**inputs).logits.float().softmax(dim=-1).cpu()
            for row in probabilities:
                best = int(row.argmax())
                results.append(
                    {
                        "label": id2label[best],
                        "score": float(row[best]),
                        "probabilities": {id2label[i]: float(p) for i, p in enumerate(row)},
                    }
                )
    finally:
        model.train(was_training)
    return results


# Copied from memekit.modeling.memeclip.modeling_memeclip._load_processor
def _load_processor(model: PreTrainedModel) -> Any:
    from transformers import AutoProcessor

    source = model.name_or_path
    if not source:
        raise ValueError(
            "`processor` is required: this model was not loaded from a folder or Hub repository that holds one. "
            "Pass `processor=MemeProcessor(...)` or the processor of the CLIP it was built from."
        )
    return AutoProcessor.from_pretrained(source, trust_remote_code=True)


__all__ = ["CDGLTForClassification", "CDGLTOutput", "CDGLTPreTrainedModel", "slerp"]
