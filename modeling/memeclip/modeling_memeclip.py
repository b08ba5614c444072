"""MemeCLIP: a frozen CLIP with projections, feature adapters and a cosine classifier.

The architecture follows the official code (SiddhantBikram/MemeCLIP at commit 707f6e8), which differs from the paper
in places; those places carry a `# Code vs paper:` comment. Head module names match the official state dict
(`image_map.proj.0`, `img_adapter.fc.0`, `pre_output.1`, `classifier.weight`, ...) so official weights map 1:1.
"""

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import CLIPModel, PreTrainedModel
from transformers.utils import ModelOutput, logging

from .configuration_memeclip import MemeCLIPConfig


logger = logging.get_logger(__name__)


@dataclass
class MemeCLIPOutput(ModelOutput):
    """
    Output of [`MemeCLIPForClassification`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            Cross-entropy loss on the scaled cosine logits.
        logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`):
            `logit_scale * cos(fused, class_weight)`.
        image_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            CLIP's projected image embedding (not normalised): the image input of the head.
        text_embeds (`torch.FloatTensor` of shape `(batch_size, text_hidden_size)`):
            CLIP's final-LayerNorm EOT text state without the text projection (not normalised): the text input of
            the head.
        image_features (`torch.FloatTensor` of shape `(batch_size, map_dim)`):
            Adapted, L2-normalised image vector before fusion.
        text_features (`torch.FloatTensor` of shape `(batch_size, map_dim)`):
            Adapted, L2-normalised text vector before fusion.
        fused_embeds (`torch.FloatTensor` of shape `(batch_size, map_dim)`):
            Output of the pre-output layers, the classifier's input.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    image_embeds: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    image_features: torch.FloatTensor | None = None
    text_features: torch.FloatTensor | None = None
    fused_embeds: torch.FloatTensor | None = None


class LinearProjection(nn.Module):
    """`Linear -> Dropout`, then `ReLU -> Linear -> Dropout` for every further layer (no activation at the end)."""

    def __init__(self, input_dim: int, output_dim: int, num_layers: int, dropout: float):
        super().__init__()
        layers = [nn.Linear(input_dim, output_dim), nn.Dropout(dropout)]
        for _ in range(num_layers - 1):
            layers += [nn.ReLU(), nn.Linear(output_dim, output_dim), nn.Dropout(dropout)]
        self.proj = nn.Sequential(*layers)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.proj(hidden_states)


class Adapter(nn.Module):
    """Bias-free bottleneck `Linear -> ReLU -> Linear -> ReLU`; its output is non-negative."""

    def __init__(self, dim: int, reduction: int):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(dim, dim // reduction, bias=False),
            nn.ReLU(),
            nn.Linear(dim // reduction, dim, bias=False),
            nn.ReLU(),
        )

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.fc(hidden_states)


class CosineClassifier(nn.Module):
    """Bias-free classifier on cosine similarity: `scale * normalize(x) @ normalize(W).T`."""

    def __init__(self, dim: int, num_labels: int, scale: float):
        super().__init__()
        self.scale = scale
        self.weight = nn.Parameter(torch.empty(num_labels, dim))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.scale * F.linear(F.normalize(hidden_states, dim=-1), F.normalize(self.weight, dim=-1))


class MemeCLIPPreTrainedModel(PreTrainedModel):
    config_class = MemeCLIPConfig
    base_model_prefix = "memeclip"
    main_input_name = "pixel_values"
    _no_split_modules = ["CLIPEncoderLayer", "CLIPTextEmbeddings", "CLIPVisionEmbeddings"]
    supports_gradient_checkpointing = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # The head uses PyTorch's default Linear initialisation, as the original does (CLIP modules are initialised by
        # CLIPModel's own `_init_weights`: transformers dispatches sub-models to their own init).
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                bound = 1 / math.sqrt(module.in_features)
                nn.init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, CosineClassifier):
            # Rows of unit norm, as the original's uniform + renorm; Semantic-Aware Initialisation replaces them.
            nn.init.uniform_(module.weight, -1.0, 1.0)
            if not getattr(module.weight, "_is_hf_initialized", False):
                module.weight.copy_(F.normalize(module.weight, dim=-1))


class MemeCLIPForClassification(MemeCLIPPreTrainedModel):
    r"""
    MemeCLIP classifier: frozen CLIP features, per-modality projections and feature adapters, element-wise fusion and
    a cosine classifier initialised from CLIP's text tower (Semantic-Aware Initialisation).

    Forward contract shared by every memekit model: pass either raw inputs (`pixel_values`, `input_ids`,
    `attention_mask`) or the cached per-modality vectors the head consumes (`image_embeds`, `text_embeds`); both give
    the same logits, and the second skips CLIP entirely.

    Example:

    ```python
    >>> from memekit import MemeCLIPForClassification
    >>> model = MemeCLIPForClassification.from_clip(
    ...     "openai/clip-vit-large-patch14", labels=["Benign Meme", "Harmful Meme"]
    ... )
    >>> model.predict(["meme.png"], ["when the build is green"], processor=processor)
    ```
    """

    def __init__(self, config: MemeCLIPConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.clip = CLIPModel._from_config(config.clip_config)
        if config.freeze_clip:
            self.clip.requires_grad_(False)

        drop_map, drop_pre, drop_post = config.dropout_probs
        # Code vs paper: the image input is CLIP's *projected* embedding while the text input is the *unprojected*
        # EOT state; the paper speaks of CLIP representations generally.
        self.image_map = LinearProjection(config.image_embed_dim, config.map_dim, config.num_mapping_layers, drop_map)
        self.text_map = LinearProjection(config.text_embed_dim, config.map_dim, config.num_mapping_layers, drop_map)
        self.img_adapter = Adapter(config.map_dim, config.adapter_reduction)
        self.text_adapter = Adapter(config.map_dim, config.adapter_reduction)

        pre_output = [nn.Dropout(drop_pre)]
        for _ in range(config.num_pre_output_layers):
            pre_output += [nn.Linear(config.map_dim, config.map_dim), nn.ReLU(), nn.Dropout(drop_post)]
        self.pre_output = nn.Sequential(*pre_output)
        self.classifier = CosineClassifier(config.map_dim, config.num_labels, config.logit_scale)
        self.post_init()

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> "MemeCLIPForClassification":
        model = super().from_pretrained(*args, **kwargs)
        # transformers re-creates every loaded parameter with `requires_grad=True`; freeze the backbone again.
        if model.config.freeze_clip:
            model.clip.requires_grad_(False)
        return model

    # ----------------------------------------------------------------------------------------------- CLIP features
    def _clip_grad_enabled(self) -> bool:
        # A frozen CLIP runs without autograd bookkeeping; if any CLIP weight is tuned (e.g. LayerNorm tuning) it keeps
        # the graph.
        return torch.is_grad_enabled() and any(p.requires_grad for p in self.clip.parameters())

    def get_image_embeds(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """CLIP's projected image embedding (CLS -> post-LayerNorm -> visual projection), not normalised."""
        with torch.set_grad_enabled(self._clip_grad_enabled()):
            pooled = self.clip.vision_model(pixel_values=pixel_values).pooler_output
            return self.clip.visual_projection(pooled)

    def get_text_embeds(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """CLIP's final-LayerNorm state at the EOT token, without the text projection, not normalised."""
        with torch.set_grad_enabled(self._clip_grad_enabled()):
            return self.clip.text_model(input_ids=input_ids, attention_mask=attention_mask).pooler_output

    # ------------------------------------------------------------------------------------------------------- head
    def encode_image(self, image_embeds: torch.Tensor) -> torch.Tensor:
        """Projection, adapter residual mix and L2 normalisation of the image branch."""
        projected = self.image_map(image_embeds)
        ratio = self.config.residual_ratio
        mixed = ratio * self.img_adapter(projected) + (1 - ratio) * projected
        return mixed / mixed.norm(dim=-1, keepdim=True)

    def encode_text(self, text_embeds: torch.Tensor) -> torch.Tensor:
        """Projection, adapter residual mix and L2 normalisation of the text branch."""
        projected = self.text_map(text_embeds)
        ratio = self.config.residual_ratio
        mixed = ratio * self.text_adapter(projected) + (1 - ratio) * projected
        return mixed / mixed.norm(dim=-1, keepdim=True)

    def fuse(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        """Element-wise product of the normalised branches, then the pre-output layers."""
        return self.pre_output(image_features * text_features)

    def forward(
        self,
        pixel_values: torch.FloatTensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        image_embeds: torch.FloatTensor | None = None,
        text_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
    ) -> MemeCLIPOutput:
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
            text_embeds (`torch.FloatTensor` of shape `(batch_size, text_hidden_size)`, *optional*):
                Cached CLIP text embeddings (the `text_embeds` of an earlier output).
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
                Class indices; when given, the output carries the cross-entropy `loss`.
        """
        image_embeds = _exactly_one("pixel_values", pixel_values, "image_embeds", image_embeds, self.get_image_embeds)
        text_embeds = _exactly_one(
            "input_ids", input_ids, "text_embeds", text_embeds, lambda ids: self.get_text_embeds(ids, attention_mask)
        )

        image_features = self.encode_image(image_embeds)
        text_features = self.encode_text(text_embeds)
        fused = self.fuse(image_features, text_features)
        logits = self.classifier(fused)

        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits, labels.to(logits.device))
        return MemeCLIPOutput(
            loss=loss,
            logits=logits,
            image_embeds=image_embeds,
            text_embeds=text_embeds,
            image_features=image_features,
            text_features=text_features,
            fused_embeds=fused,
        )

    # ------------------------------------------------------------------ auxiliary objectives (memekit.objectives)
    @property
    def fused_dim(self) -> int:
        """Width of the fused representation (`fused_embeds`)."""
        return self.config.map_dim

    def itc_representations(self, outputs: MemeCLIPOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """The trainable per-modality vectors for image-text contrast: the adapted, normalised branches."""
        return outputs.image_features, outputs.text_features

    def itm_fused(self, outputs: MemeCLIPOutput, text_order: torch.Tensor) -> torch.Tensor:
        """Fused representation of image i with the text of post `text_order[i]` (for image-text matching)."""
        return self.fuse(outputs.image_features, outputs.text_features[text_order])

    # ------------------------------------------------------------------------------- Semantic-Aware Initialisation
    @torch.no_grad()
    def initialize_classifier_from_text(self, tokenizer: Any) -> None:
        """
        Semantic-Aware Initialisation: each class weight becomes
        `normalize(normalize(text_features(prompt)) @ visual_projection.weight)`, i.e. the CLIP text embedding of
        `prompt_template.format(class name)` mapped into the vision tower's pre-projection space.

        Code vs paper: the code's template is "a photo of a {}." with its own class names ("Benign Meme", ...), and
        the mapping goes through the transpose of CLIP's visual projection.
        """
        if self.config.map_dim != self.config.clip_config.vision_config.hidden_size:
            raise ValueError(
                f"Semantic-Aware Initialisation maps prompts into CLIP's vision width "
                f"({self.config.clip_config.vision_config.hidden_size}), but `map_dim` is {self.config.map_dim}. "
                "Keep `map_dim` at its default to use it."
            )
        names = [self.config.id2label[i].replace("_", " ") for i in range(self.config.num_labels)]
        prompts = [self.config.prompt_template.format(name) for name in names]
        max_length = self.config.clip_config.text_config.max_position_embeddings
        tokens = tokenizer(prompts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        device = self.clip.text_projection.weight.device
        pooled = self.clip.text_model(
            input_ids=tokens["input_ids"].to(device), attention_mask=tokens["attention_mask"].to(device)
        ).pooler_output
        text_features = F.normalize(self.clip.text_projection(pooled), dim=-1)
        weight = F.normalize(text_features @ self.clip.visual_projection.weight, dim=-1)
        self.classifier.weight.copy_(weight.to(self.classifier.weight.dtype))

    @classmethod
    def from_clip(
        cls,
        clip_name_or_path: str | os.PathLike,
        labels: list[str],
        tokenizer: Any = None,
        **config_kwargs: Any,
    ) -> "MemeCLIPForClassification":
        """
        Build a fresh MemeCLIP on a pretrained CLIP: CLIP weights loaded (and frozen), head randomly initialised as in
        the original, classifier set by Semantic-Aware Initialisation from `labels`.

        Args:
            clip_name_or_path (`str` or `os.PathLike`):
                Hub id or folder of a `CLIPModel`, e.g. `"openai/clip-vit-large-patch14"`.
            labels (`list[str]`):
                Class names in label-index order; they fill the prompt template.
            tokenizer (*optional*):
                CLIP tokenizer for the prompts; loaded from `clip_name_or_path` when omitted.
            config_kwargs:
                Further [`MemeCLIPConfig`] fields.
        """
        from transformers import AutoTokenizer

        if isinstance(labels, str) or not labels or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(f"`labels` must be a non-empty list of class names, got {labels!r}.")
        if len(set(labels)) != len(labels):
            raise ValueError(f"`labels` must be unique, got {labels!r}.")
        clip = CLIPModel.from_pretrained(clip_name_or_path)
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(clip_name_or_path)
        config = MemeCLIPConfig(
            clip_config=clip.config,
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            **config_kwargs,
        )
        model = cls(config)
        # Swap in the loaded CLIP rather than copying its weights into the randomly initialised one.
        model.clip = clip.requires_grad_(not config.freeze_clip)
        model.initialize_classifier_from_text(tokenizer)
        return model

    # -------------------------------------------------------------------------------------------------- inference
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
            images (`list`):
                PIL images, numpy arrays or paths to image files.
            texts (`list[str | None]`):
                The text of each meme (missing text is allowed and becomes the processor's placeholder).
            processor (*optional*):
                The model's processor. Defaults to the one saved beside the model (`AutoProcessor.from_pretrained` on
                the folder or Hub id the model was loaded from).
            batch_size (`int`, *optional*, defaults to 16):
                Memes per forward pass.

        Returns:
            `list[dict]`: per meme, `label` (the predicted class name), `score` (its probability) and
            `probabilities` (class name -> softmax probability).
        """
        return _predict(self, images, texts, processor, batch_size)


def _exactly_one(raw_name: str, raw: Any, cached_name: str, cached: Any, compute: Any) -> torch.Tensor:
    if (raw is None) == (cached is None):
        raise ValueError(
            f"Pass exactly one of `{raw_name}` (raw input) or `{cached_name}` (cached CLIP features), got "
            f"{'both' if raw is not None else 'neither'}."
        )
    return compute(raw) if cached is None else cached


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


def _load_processor(model: PreTrainedModel) -> Any:
    from transformers import AutoProcessor

    source = model.name_or_path
    if not source:
        raise ValueError(
            "`processor` is required: this model was not loaded from a folder or Hub repository that holds one. "
            "Pass `processor=MemeProcessor(...)` or the processor of the CLIP it was built from."
        )
    return AutoProcessor.from_pretrained(source, trust_remote_code=True)


__all__ = ["MemeCLIPForClassification", "MemeCLIPOutput", "MemeCLIPPreTrainedModel"]
