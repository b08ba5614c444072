"""CLFA: student encoders aligned to a frozen CLIP teacher, cross-attention fusion and a linear classifier.

The architecture follows the official code (ChangKe123/CLFA at commit ac96b8d, `models.py::VitBERT` and
`BertCrossEncoder`); only the paper's abstract could be read, so the code is the reference. Where the code does less
than the abstract suggests, a `# Code vs paper:` comment says so; where this implementation departs from the code on
purpose, a `# Differs from the original:` comment does.
"""

import inspect
import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    MODEL_MAPPING,
    AutoConfig,
    AutoModel,
    CLIPConfig,
    CLIPModel,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput, logging

from .configuration_clfa import POOLING_CHOICES, CLFAConfig


logger = logging.get_logger(__name__)

# BERT's LayerNorm epsilon, which the original's cross-encoder layers reuse.
FUSION_LAYER_NORM_EPS = 1e-12


@dataclass
class CLFAOutput(ModelOutput):
    """
    Output of [`CLFAForClassification`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            `alpha * alignment_loss + beta * classification_loss`, or `beta * classification_loss` when no teacher
            embeddings can be had.
        logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`):
            Classification scores.
        image_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            Mean of the projected student image tokens, L2-normalised: the image representation aligned to the
            teacher (and the per-modality image vector for an image-text contrastive objective).
        text_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            Masked mean of the projected student text tokens, L2-normalised: the text representation aligned to the
            teacher (and the per-modality text vector for an image-text contrastive objective).
        fused_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            The pooled output of the fusion layers, the classifier's input before dropout (the fused representation
            for an image-text matching objective).
        alignment_loss (`torch.FloatTensor` of shape `()`, *optional*):
            `L_img + L_txt`, each a symmetric InfoNCE between student and teacher vectors of one modality. Returned
            when `labels` is given and teacher embeddings could be had (cached or from the internal teacher), also
            with `alpha=0` (for monitoring; it then adds nothing to `loss`).
        classification_loss (`torch.FloatTensor` of shape `()`, *optional*, returned when `labels` is given):
            Cross-entropy of `logits` against `labels` (unweighted).
        teacher_image_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`, *optional*):
            The L2-normalised teacher image embeddings the alignment used.
        teacher_text_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`, *optional*):
            The L2-normalised teacher text embeddings the alignment used.
        encoder_outputs (`CLFAEncoderOutput`):
            The projected student token sequences, so that fused pairs can be recomputed without the encoders
            (image-text matching).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    image_embeds: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    fused_embeds: torch.FloatTensor | None = None
    alignment_loss: torch.FloatTensor | None = None
    classification_loss: torch.FloatTensor | None = None
    teacher_image_embeds: torch.FloatTensor | None = None
    teacher_text_embeds: torch.FloatTensor | None = None
    encoder_outputs: Any = None


@dataclass
class CLFAEncoderOutput(ModelOutput):
    """
    Output of [`CLFAForClassification.encode`]: the projected student token sequences and their pooled vectors.

    Args:
        text_tokens (`torch.FloatTensor` of shape `(batch_size, text_length, projection_dim)`):
            Projected student text tokens.
        text_mask (`torch.LongTensor` of shape `(batch_size, text_length)`):
            1 for real text tokens, 0 for padding.
        image_tokens (`torch.FloatTensor` of shape `(batch_size, num_image_tokens, projection_dim)`):
            Projected student image tokens (all of them, CLS included; none is padding).
        text_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            Masked mean of `text_tokens`, L2-normalised.
        image_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`):
            Mean of `image_tokens`, L2-normalised.
        knowledge_tokens (`torch.FloatTensor` of shape `(batch_size, knowledge_length, projection_dim)`, *optional*):
            Projected knowledge tokens (same encoder and projection as the text).
        knowledge_mask (`torch.LongTensor` of shape `(batch_size, knowledge_length)`, *optional*):
            1 for real knowledge tokens, 0 for padding.
    """

    text_tokens: torch.FloatTensor | None = None
    text_mask: torch.LongTensor | None = None
    image_tokens: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    image_embeds: torch.FloatTensor | None = None
    knowledge_tokens: torch.FloatTensor | None = None
    knowledge_mask: torch.LongTensor | None = None


def symmetric_info_nce(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """
    Symmetric InfoNCE between row-aligned student and teacher vectors, with in-batch negatives:
    `S = normalize(student) @ normalize(teacher).T / temperature` and
    `0.5 * (CE(S, arange(B)) + CE(S.T, arange(B)))`. A batch of one gives 0.

    Args:
        student (`torch.Tensor` of shape `(batch_size, dim)`): student vectors (normalised here).
        teacher (`torch.Tensor` of shape `(batch_size, dim)`): teacher vectors of the same posts (normalised here).
        temperature (`float`): the fixed temperature.
    """
    if student.shape != teacher.shape:
        raise ValueError(
            f"Student and teacher vectors must have the same shape, got {tuple(student.shape)} and "
            f"{tuple(teacher.shape)}."
        )
    student = F.normalize(student, dim=-1)
    teacher = F.normalize(teacher.to(student.dtype), dim=-1)
    similarities = student @ teacher.T / temperature
    targets = torch.arange(similarities.shape[0], device=similarities.device)
    return 0.5 * (F.cross_entropy(similarities, targets) + F.cross_entropy(similarities.T, targets))


def pool_tokens(tokens: torch.Tensor, mask: torch.Tensor | None, pooling: str) -> torch.Tensor:
    """
    Pool a token sequence into one vector per row.

    Args:
        tokens (`torch.Tensor` of shape `(batch_size, length, dim)`): the sequence.
        mask (`torch.Tensor` of shape `(batch_size, length)`, *optional*): 1 for real tokens, 0 for padding; `None`
            means no padding.
        pooling (`str`): `"mean"` (masked mean), `"cls"` (first token) or `"max"` (masked max).
    """
    if pooling == "cls":
        return tokens[:, 0]
    if mask is None:
        mask = torch.ones(tokens.shape[:2], dtype=torch.long, device=tokens.device)
    keep = mask.to(tokens.device).bool().unsqueeze(-1)
    if pooling == "mean":
        # A row with no real token pools to zeros rather than dividing by zero.
        count = keep.sum(dim=1).clamp(min=1).to(tokens.dtype)
        return (tokens * keep.to(tokens.dtype)).sum(dim=1) / count
    if pooling == "max":
        return tokens.masked_fill(~keep, torch.finfo(tokens.dtype).min).max(dim=1).values
    raise ValueError(f"`pooling` must be one of {POOLING_CHOICES}, got {pooling!r}.")


def _additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """(batch, length) 1/0 key mask -> (batch, 1, 1, length) additive mask (0 to keep, the dtype's minimum to drop).

    A finite minimum keeps a fully padded row finite (uniform attention) instead of NaN.
    """
    if mask is None:
        return None
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class CLFAProjection(nn.Module):
    """`Linear(input_dim -> hidden_dim) -> ReLU -> Linear(hidden_dim -> output_dim)`, applied to every token."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int):
        super().__init__()
        self.dense_in = nn.Linear(input_dim, hidden_dim)
        self.activation = nn.ReLU()
        self.dense_out = nn.Linear(hidden_dim, output_dim)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dense_out(self.activation(self.dense_in(hidden_states)))


class CLFAAttention(nn.Module):
    """Multi-head scaled dot-product attention of `hidden_states` (queries) over `context` (keys and values)."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.dropout = dropout
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, hidden_size)

    def _split_heads(self, states: torch.Tensor) -> torch.Tensor:
        batch, length, _ = states.shape
        return states.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self, hidden_states: torch.Tensor, context: torch.Tensor, additive_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, length, width = hidden_states.shape
        attended = F.scaled_dot_product_attention(
            self._split_heads(self.query(hidden_states)),
            self._split_heads(self.key(context)),
            self._split_heads(self.value(context)),
            attn_mask=additive_mask,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.output(attended.transpose(1, 2).reshape(batch, length, width))


class CLFAResidualAttention(nn.Module):
    """Post-LayerNorm residual attention block: `LayerNorm(x + Dropout(Attention(x, context)))`."""

    def __init__(self, hidden_size: int, num_heads: int, dropout: float):
        super().__init__()
        self.attention = CLFAAttention(hidden_size, num_heads, dropout)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=FUSION_LAYER_NORM_EPS)

    def forward(
        self, hidden_states: torch.Tensor, context: torch.Tensor, additive_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        attended = self.attention(hidden_states, context, additive_mask)
        return self.layer_norm(hidden_states + self.dropout(attended))


class CLFAFeedForward(nn.Module):
    """Post-LayerNorm residual feed-forward block: `LayerNorm(x + Dropout(Linear(GELU(Linear(x)))))`."""

    def __init__(self, hidden_size: int, intermediate_size: int, dropout: float):
        super().__init__()
        self.dense_in = nn.Linear(hidden_size, intermediate_size)
        self.activation = nn.GELU()
        self.dense_out = nn.Linear(intermediate_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=FUSION_LAYER_NORM_EPS)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        transformed = self.dense_out(self.activation(self.dense_in(hidden_states)))
        return self.layer_norm(hidden_states + self.dropout(transformed))


class CLFAFusionLayer(GradientCheckpointingLayer):
    """
    One fusion layer, text as the query stream: text self-attention, text -> image cross-attention, optionally
    text -> knowledge cross-attention, then a feed-forward block; each a post-LayerNorm residual block.
    """

    def __init__(self, config: CLFAConfig):
        super().__init__()
        width, heads, dropout = config.projection_dim, config.fusion_heads, config.fusion_dropout
        self.self_attention = CLFAResidualAttention(width, heads, dropout)
        self.image_attention = CLFAResidualAttention(width, heads, dropout)
        # Differs from the original: its optional additive graph biases (dependency graph on the self-attention,
        # SenticNet / WordNet graphs on the knowledge attention) are left out.
        self.knowledge_attention = CLFAResidualAttention(width, heads, dropout) if config.use_knowledge else None
        self.feed_forward = CLFAFeedForward(width, config.fusion_intermediate_size, dropout)

    def forward(
        self,
        hidden_states: torch.Tensor,
        text_mask: torch.Tensor | None,
        image_tokens: torch.Tensor,
        knowledge_tokens: torch.Tensor | None = None,
        knowledge_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Masks are additive, shape `(batch, 1, 1, length)`; image tokens are never padded."""
        hidden_states = self.self_attention(hidden_states, hidden_states, text_mask)
        hidden_states = self.image_attention(hidden_states, image_tokens)
        if self.knowledge_attention is not None:
            hidden_states = self.knowledge_attention(hidden_states, knowledge_tokens, knowledge_mask)
        return self.feed_forward(hidden_states)


def _encoder_class(config: PretrainedConfig) -> type:
    if isinstance(config, CLIPTextConfig):
        return CLIPTextModel
    if isinstance(config, CLIPVisionConfig):
        return CLIPVisionModel
    if type(config) not in MODEL_MAPPING:
        raise ValueError(
            f"No transformers model is registered for {type(config).__name__}; `AutoModel` cannot build it."
        )
    return MODEL_MAPPING[type(config)]


def _encoder_kwargs(model_class: type) -> dict[str, Any]:
    # The original reads token states only; a pooler would hold parameters that never receive a gradient (which
    # distributed training reports as unused), so it is not built where the model class allows it.
    if "add_pooling_layer" in inspect.signature(model_class.__init__).parameters:
        return {"add_pooling_layer": False}
    return {}


def _build_encoder(config: PretrainedConfig) -> PreTrainedModel:
    """A randomly initialised student encoder for `config` (CLIP towers as `CLIPTextModel` / `CLIPVisionModel`)."""
    model_class = _encoder_class(config)
    if model_class in (CLIPTextModel, CLIPVisionModel):
        return model_class._from_config(config)
    return AutoModel.from_config(config, **_encoder_kwargs(model_class))


def _load_encoder(name_or_path: str | os.PathLike, modality: str) -> PreTrainedModel:
    """A pretrained student encoder: the matching tower of a full CLIP checkpoint, or any `AutoModel` checkpoint."""
    config = AutoConfig.from_pretrained(name_or_path)
    if isinstance(config, CLIPConfig):
        return (CLIPTextModel if modality == "text" else CLIPVisionModel).from_pretrained(name_or_path)
    return AutoModel.from_pretrained(name_or_path, **_encoder_kwargs(_encoder_class(config)))


class CLFAPreTrainedModel(PreTrainedModel):
    config_class = CLFAConfig
    base_model_prefix = "clfa"
    main_input_name = "pixel_values"
    # `post_init` adds the student encoders' and the teacher's own no-split modules (BertLayer, ViTLayer, ...).
    _no_split_modules = ["CLFAFusionLayer"]
    # A checkpoint saved with its teacher loads without it (`from_pretrained(..., use_teacher=False)`) quietly.
    _keys_to_ignore_on_load_unexpected = [r"^teacher\."]
    supports_gradient_checkpointing = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # The new modules (projections, fusion layers, classifier) use PyTorch's default initialisation: Linear
        # kaiming-uniform (a = sqrt(5)) with uniform bias, LayerNorm ones and zeros. The student encoders and the
        # teacher are initialised by their own `_init_weights` (transformers dispatches sub-models to their own init).
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                bound = 1 / math.sqrt(module.in_features)
                nn.init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class CLFAForClassification(CLFAPreTrainedModel):
    r"""
    CLFA classifier. A student text encoder and a student image encoder produce token states; two MLPs project them
    into the teacher's embedding space; the mean-pooled projected features of each modality are pulled toward a
    frozen CLIP teacher's embedding of the same post and modality (symmetric InfoNCE, in-batch negatives, fixed
    temperature); the projected text tokens attend to the image tokens (and optionally to a knowledge text) through
    the fusion layers; the pooled fused vector is classified.

    Loss with `labels`: `alpha * (L_img + L_txt) + beta * CE`; without any teacher embeddings, `beta * CE`.

    Teacher embeddings come, per modality, from the cached `teacher_image_embeds` / `teacher_text_embeds`, or from
    the internal teacher on `teacher_pixel_values` / `teacher_input_ids`, or (when the student is a CLIP tower that
    reads the teacher's inputs) on `pixel_values` / `input_ids` themselves. They are needed only for the loss: the
    model never runs its teacher without `labels`, and predicts without one.

    Example:

    ```python
    >>> from memekit import CLFAForClassification
    >>> model = CLFAForClassification.from_pretrained_backbones(labels=["not sarcastic", "sarcastic"])
    >>> output = model(
    ...     pixel_values=vit_pixels, input_ids=bert_ids, attention_mask=bert_mask,
    ...     teacher_pixel_values=clip_pixels, teacher_input_ids=clip_ids, teacher_attention_mask=clip_mask,
    ...     labels=labels,
    ... )
    ```
    """

    def __init__(self, config: CLFAConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        # As the original: BERT's last hidden states and all 50 ViT-B/32 tokens (CLS included) after the encoder's
        # final LayerNorm are the token features; no pooler is used.
        self.text_encoder = _build_encoder(config.text_config)
        self.vision_encoder = _build_encoder(config.vision_config)
        # One text MLP serves the tweet and the knowledge tokens, as in the original.
        self.text_projection = CLFAProjection(
            config.text_hidden_size, config.text_projection_hidden_dim, config.projection_dim
        )
        self.image_projection = CLFAProjection(
            config.vision_hidden_size, config.image_projection_hidden_dim, config.projection_dim
        )
        self.fusion = nn.ModuleList([CLFAFusionLayer(config) for _ in range(config.num_fusion_layers)])
        self.dropout = nn.Dropout(config.classifier_dropout)
        # Differs from the original: the class count is `num_labels` (the original hard-codes 2).
        self.classifier = nn.Linear(config.projection_dim, config.num_labels)
        self.teacher = CLIPModel._from_config(config.teacher_config) if config.use_teacher else None
        if self.teacher is not None:
            self.teacher.requires_grad_(False)
        self.post_init()

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> "CLFAForClassification":
        model = super().from_pretrained(*args, **kwargs)
        # transformers re-creates every loaded parameter with `requires_grad=True`; freeze the teacher again.
        model.freeze_teacher()
        return model

    @classmethod
    def from_pretrained_backbones(
        cls,
        text: str | os.PathLike = "bert-base-uncased",
        vision: str | os.PathLike = "google/vit-base-patch32-224-in21k",
        teacher: str | os.PathLike = "openai/clip-vit-base-patch32",
        *,
        labels: list[str],
        **config_kwargs: Any,
    ) -> "CLFAForClassification":
        """
        Build a fresh CLFA on pretrained students and a pretrained, frozen teacher; projections, fusion and classifier
        are randomly initialised.

        Args:
            text (`str` or `os.PathLike`, *optional*, defaults to `"bert-base-uncased"`):
                Hub id or folder of the student text encoder; a full CLIP checkpoint gives its text tower.
            vision (`str` or `os.PathLike`, *optional*, defaults to `"google/vit-base-patch32-224-in21k"`):
                Hub id or folder of the student image encoder; a full CLIP checkpoint gives its vision tower.
            teacher (`str` or `os.PathLike`, *optional*, defaults to `"openai/clip-vit-base-patch32"`):
                Hub id or folder of the CLIP teacher. With `use_teacher=False` only its configuration is read.
            labels (`list[str]`):
                Class names in label-index order.
            config_kwargs:
                Further [`CLFAConfig`] fields.

        Passing the teacher's id as `text` and `vision` builds the variant whose students are CLIP's own towers.
        """
        if isinstance(labels, str) or not labels or not all(isinstance(label, str) and label for label in labels):
            raise ValueError(f"`labels` must be a non-empty list of class names, got {labels!r}.")
        if len(set(labels)) != len(labels):
            raise ValueError(f"`labels` must be unique, got {labels!r}.")
        use_teacher = config_kwargs.pop("use_teacher", True)
        text_encoder = _load_encoder(text, "text")
        vision_encoder = _load_encoder(vision, "vision")
        teacher_model = CLIPModel.from_pretrained(teacher) if use_teacher else None
        config = CLFAConfig(
            text_config=text_encoder.config,
            vision_config=vision_encoder.config,
            teacher_config=teacher_model.config if use_teacher else CLIPConfig.from_pretrained(teacher),
            use_teacher=use_teacher,
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            **config_kwargs,
        )
        model = cls(config)
        # Swap in the loaded models rather than copying their weights into the randomly initialised ones.
        model.text_encoder = text_encoder
        model.vision_encoder = vision_encoder
        model.teacher = teacher_model
        model.freeze_teacher()
        return model

    def freeze_teacher(self) -> None:
        """Make the teacher's parameters non-trainable (the teacher is frozen by design) and put it in eval mode."""
        if self.teacher is not None:
            self.teacher.requires_grad_(False)
            self.teacher.eval()

    def train(self, mode: bool = True) -> "CLFAForClassification":
        """Set training mode on the students, projections and fusion; the frozen teacher always stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    # -------------------------------------------------------------------------------------------------- teacher
    @torch.no_grad()
    def teacher_embeds(
        self,
        teacher_pixel_values: torch.FloatTensor | None = None,
        teacher_input_ids: torch.LongTensor | None = None,
        teacher_attention_mask: torch.LongTensor | None = None,
    ) -> tuple[torch.FloatTensor | None, torch.FloatTensor | None]:
        """
        The frozen teacher's L2-normalised projected embeddings (CLIP's `image_embeds` and `text_embeds`), the values
        to cache as `teacher_image_embeds` / `teacher_text_embeds`.

        Args:
            teacher_pixel_values (`torch.FloatTensor` of shape `(batch_size, 3, height, width)`, *optional*):
                Images prepared by the teacher's (CLIP's) image processor.
            teacher_input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
                Token ids from the teacher's (CLIP's) tokenizer.
            teacher_attention_mask (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
                Padding mask for `teacher_input_ids`.

        Returns:
            `tuple`: the image embeddings (or `None` without `teacher_pixel_values`) and the text embeddings (or
            `None` without `teacher_input_ids`), each of shape `(batch_size, projection_dim)`.
        """
        if self.teacher is None:
            raise ValueError(
                "This model has no teacher (`use_teacher=False`): pass cached `teacher_image_embeds` and "
                "`teacher_text_embeds`, or build the model with `use_teacher=True`."
            )
        image_embeds = text_embeds = None
        if teacher_pixel_values is not None:
            pooled = self.teacher.vision_model(pixel_values=teacher_pixel_values).pooler_output
            image_embeds = F.normalize(self.teacher.visual_projection(pooled), dim=-1)
        if teacher_input_ids is not None:
            pooled = self.teacher.text_model(
                input_ids=teacher_input_ids, attention_mask=teacher_attention_mask
            ).pooler_output
            text_embeds = F.normalize(self.teacher.text_projection(pooled), dim=-1)
        return image_embeds, text_embeds

    def _students_read_teacher_images(self) -> bool:
        vision, teacher_vision = self.config.vision_config, self.config.teacher_config.vision_config
        return isinstance(vision, CLIPVisionConfig) and vision.image_size == teacher_vision.image_size

    def _students_read_teacher_text(self) -> bool:
        text, teacher_text = self.config.text_config, self.config.teacher_config.text_config
        return isinstance(text, CLIPTextConfig) and text.vocab_size == teacher_text.vocab_size

    def _resolve_teacher_embeds(
        self,
        pixel_values: torch.Tensor,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        teacher_pixel_values: torch.Tensor | None,
        teacher_input_ids: torch.Tensor | None,
        teacher_attention_mask: torch.Tensor | None,
        teacher_image_embeds: torch.Tensor | None,
        teacher_text_embeds: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        for raw_name, raw, cached_name, cached in (
            ("teacher_pixel_values", teacher_pixel_values, "teacher_image_embeds", teacher_image_embeds),
            ("teacher_input_ids", teacher_input_ids, "teacher_text_embeds", teacher_text_embeds),
        ):
            if raw is not None and cached is not None:
                raise ValueError(
                    f"Pass at most one of `{raw_name}` (teacher input) or `{cached_name}` (cached), got both."
                )
            if raw is not None and self.teacher is None:
                raise ValueError(
                    f"`{raw_name}` needs the internal teacher, but this model has none (`use_teacher=False`): pass "
                    f"the cached `{cached_name}` instead."
                )
        if self.teacher is not None:
            if teacher_image_embeds is None and teacher_pixel_values is None and self._students_read_teacher_images():
                teacher_pixel_values = pixel_values
            if teacher_text_embeds is None and teacher_input_ids is None and self._students_read_teacher_text():
                teacher_input_ids, teacher_attention_mask = input_ids, attention_mask
            if teacher_pixel_values is not None or teacher_input_ids is not None:
                live_image, live_text = self.teacher_embeds(
                    teacher_pixel_values, teacher_input_ids, teacher_attention_mask
                )
                teacher_image_embeds = live_image if live_image is not None else teacher_image_embeds
                teacher_text_embeds = live_text if live_text is not None else teacher_text_embeds
        if (teacher_image_embeds is None) != (teacher_text_embeds is None):
            have, missing = ("image", "text") if teacher_text_embeds is None else ("text", "image")
            raise ValueError(
                f"Teacher embeddings are available for the {have} but not for the {missing}: the alignment loss "
                f"needs both. Pass the teacher's {missing} input (`teacher_pixel_values` / `teacher_input_ids`) or "
                "its cached embeddings (`teacher_image_embeds` / `teacher_text_embeds`)."
            )
        return teacher_image_embeds, teacher_text_embeds

    # ------------------------------------------------------------------------------------------------- students
    def _image_token_states(self, pixel_values: torch.Tensor) -> torch.Tensor:
        hidden = self.vision_encoder(pixel_values=pixel_values).last_hidden_state
        if isinstance(self.vision_encoder, CLIPVisionModel):
            # CLIP applies its final LayerNorm to the pooled CLS token only; applying it to every token gives the
            # "after the encoder's final LayerNorm" states that ViT returns, as the original reads them.
            # (Older transformers nest the tower in `vision_model`.)
            tower = getattr(self.vision_encoder, "vision_model", self.vision_encoder)
            hidden = tower.post_layernorm(hidden)
        if hidden.dim() != 3:
            raise ValueError(
                f"The student image encoder must return a token sequence (batch, tokens, hidden); got a "
                f"`last_hidden_state` of shape {tuple(hidden.shape)}."
            )
        return hidden

    def encode(
        self,
        pixel_values: torch.FloatTensor,
        input_ids: torch.LongTensor,
        attention_mask: torch.LongTensor | None = None,
        knowledge_input_ids: torch.LongTensor | None = None,
        knowledge_attention_mask: torch.LongTensor | None = None,
    ) -> CLFAEncoderOutput:
        """
        Run the student encoders and projections.

        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, 3, height, width)`):
                Images prepared by the student image encoder's processor.
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`):
                Post text tokenised by the student text encoder's tokenizer.
            attention_mask (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
                Padding mask for `input_ids`.
            knowledge_input_ids (`torch.LongTensor` of shape `(batch_size, knowledge_length)`, *optional*):
                Knowledge text (OCR, caption) tokenised by the same tokenizer; only with `use_knowledge=True`.
            knowledge_attention_mask (`torch.LongTensor` of shape `(batch_size, knowledge_length)`, *optional*):
                Padding mask for `knowledge_input_ids`.
        """
        if pixel_values is None or input_ids is None:
            raise ValueError(
                "CLFA needs `pixel_values` and `input_ids`: its student encoders are trained, so there is no cached "
                "feature path (only the teacher's embeddings can be cached)."
            )
        if self.config.use_knowledge and knowledge_input_ids is None:
            raise ValueError("This model was built with `use_knowledge=True`: pass `knowledge_input_ids`.")
        if not self.config.use_knowledge and knowledge_input_ids is not None:
            raise ValueError(
                "`knowledge_input_ids` was given, but this model was built with `use_knowledge=False` and has no "
                "knowledge attention."
            )
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        text_states = self.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        text_tokens = self.text_projection(text_states)
        image_tokens = self.image_projection(self._image_token_states(pixel_values))

        knowledge_tokens = None
        if knowledge_input_ids is not None:
            if knowledge_attention_mask is None:
                knowledge_attention_mask = torch.ones_like(knowledge_input_ids)
            knowledge_states = self.text_encoder(
                input_ids=knowledge_input_ids, attention_mask=knowledge_attention_mask
            ).last_hidden_state
            knowledge_tokens = self.text_projection(knowledge_states)

        # The alignment always mean-pools (masked for text; all image tokens), whatever `pooling` the classifier uses.
        return CLFAEncoderOutput(
            text_tokens=text_tokens,
            text_mask=attention_mask,
            image_tokens=image_tokens,
            text_embeds=F.normalize(pool_tokens(text_tokens, attention_mask, "mean"), dim=-1),
            image_embeds=F.normalize(pool_tokens(image_tokens, None, "mean"), dim=-1),
            knowledge_tokens=knowledge_tokens,
            knowledge_mask=knowledge_attention_mask if knowledge_tokens is not None else None,
        )

    def fuse(
        self,
        text_tokens: torch.FloatTensor,
        text_mask: torch.LongTensor | None,
        image_tokens: torch.FloatTensor,
        knowledge_tokens: torch.FloatTensor | None = None,
        knowledge_mask: torch.LongTensor | None = None,
    ) -> torch.FloatTensor:
        """
        Run the fusion layers on projected tokens and pool the fused text sequence (`config.pooling`). Text and image
        rows need not come from the same post, so an image-text matching objective can fuse swapped pairs from one
        `encode` call.

        Args:
            text_tokens (`torch.FloatTensor` of shape `(batch_size, text_length, projection_dim)`): query stream.
            text_mask (`torch.LongTensor` of shape `(batch_size, text_length)`, *optional*): 1 real, 0 padding.
            image_tokens (`torch.FloatTensor` of shape `(batch_size, num_image_tokens, projection_dim)`).
            knowledge_tokens (`torch.FloatTensor` of shape `(batch_size, knowledge_length, projection_dim)`,
                *optional*): required with `use_knowledge=True`.
            knowledge_mask (`torch.LongTensor` of shape `(batch_size, knowledge_length)`, *optional*).

        Returns:
            `torch.FloatTensor` of shape `(batch_size, projection_dim)`: the fused representation.
        """
        if self.config.use_knowledge and knowledge_tokens is None:
            raise ValueError("This model was built with `use_knowledge=True`: pass `knowledge_tokens`.")
        if not self.config.use_knowledge and knowledge_tokens is not None:
            raise ValueError("`knowledge_tokens` was given, but this model was built with `use_knowledge=False`.")
        additive_text_mask = _additive_mask(text_mask, text_tokens.dtype)
        additive_knowledge_mask = _additive_mask(knowledge_mask, text_tokens.dtype)
        hidden_states = text_tokens
        for layer in self.fusion:
            hidden_states = layer(
                hidden_states, additive_text_mask, image_tokens, knowledge_tokens, additive_knowledge_mask
            )
        # Differs from the original: its "CLS" option is a BERT-style pooler (Linear + tanh on the first token);
        # here "cls" is the first fused token itself. All of the original's scripts use the masked mean.
        return pool_tokens(hidden_states, text_mask, self.config.pooling)

    # -------------------------------------------------------------------------------------------------- forward
    def forward(
        self,
        pixel_values: torch.FloatTensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        knowledge_input_ids: torch.LongTensor | None = None,
        knowledge_attention_mask: torch.LongTensor | None = None,
        teacher_pixel_values: torch.FloatTensor | None = None,
        teacher_input_ids: torch.LongTensor | None = None,
        teacher_attention_mask: torch.LongTensor | None = None,
        teacher_image_embeds: torch.FloatTensor | None = None,
        teacher_text_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
    ) -> CLFAOutput:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, 3, height, width)`):
                Images prepared for the student image encoder.
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`):
                Post text tokenised for the student text encoder.
            attention_mask (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
                Padding mask for `input_ids`.
            knowledge_input_ids (`torch.LongTensor` of shape `(batch_size, knowledge_length)`, *optional*):
                Knowledge text (OCR, caption) for the same tokenizer; required exactly when `use_knowledge=True`.
            knowledge_attention_mask (`torch.LongTensor` of shape `(batch_size, knowledge_length)`, *optional*):
                Padding mask for `knowledge_input_ids`.
            teacher_pixel_values (`torch.FloatTensor` of shape `(batch_size, 3, height, width)`, *optional*):
                Images prepared by CLIP's image processor, for the internal teacher.
            teacher_input_ids (`torch.LongTensor` of shape `(batch_size, teacher_length)`, *optional*):
                Post text from CLIP's tokenizer, for the internal teacher.
            teacher_attention_mask (`torch.LongTensor` of shape `(batch_size, teacher_length)`, *optional*):
                Padding mask for `teacher_input_ids`.
            teacher_image_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`, *optional*):
                Cached teacher image embeddings (from `teacher_embeds`, or CLIP's `image_embeds`).
            teacher_text_embeds (`torch.FloatTensor` of shape `(batch_size, projection_dim)`, *optional*):
                Cached teacher text embeddings (from `teacher_embeds`, or CLIP's `text_embeds`).
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
                Class indices; when given, the output carries the losses (and only then is the teacher used).
        """
        encoding = self.encode(pixel_values, input_ids, attention_mask, knowledge_input_ids, knowledge_attention_mask)
        fused = self.fuse(
            encoding.text_tokens,
            encoding.text_mask,
            encoding.image_tokens,
            encoding.knowledge_tokens,
            encoding.knowledge_mask,
        )
        logits = self.classifier(self.dropout(fused))

        loss = alignment_loss = classification_loss = None
        if labels is not None:
            teacher_image_embeds, teacher_text_embeds = self._resolve_teacher_embeds(
                pixel_values,
                input_ids,
                attention_mask,
                teacher_pixel_values,
                teacher_input_ids,
                teacher_attention_mask,
                teacher_image_embeds,
                teacher_text_embeds,
            )
            classification_loss = F.cross_entropy(logits, labels.to(logits.device))
            loss = self.config.beta * classification_loss
            if teacher_image_embeds is not None:
                temperature = self.config.temperature
                # Code vs paper: the abstract speaks of aligning the two modalities into one space; the code aligns
                # each student modality to the *same* modality of the teacher (BERT to CLIP text, ViT to CLIP image),
                # with no direct text-image term, so the modalities meet only through CLIP's shared space.
                alignment_loss = symmetric_info_nce(
                    encoding.image_embeds, teacher_image_embeds.to(encoding.image_embeds.device), temperature
                ) + symmetric_info_nce(
                    encoding.text_embeds, teacher_text_embeds.to(encoding.text_embeds.device), temperature
                )
                loss = loss + self.config.alpha * alignment_loss
            elif self.config.alpha > 0:
                logger.warning_once(
                    "CLFA got `labels` but no teacher embeddings (no teacher inputs, no cached embeddings): the loss "
                    "is the cross-entropy alone, without the alignment term."
                )
        else:
            teacher_image_embeds = teacher_text_embeds = None

        return CLFAOutput(
            loss=loss,
            logits=logits,
            image_embeds=encoding.image_embeds,
            text_embeds=encoding.text_embeds,
            fused_embeds=fused,
            alignment_loss=alignment_loss,
            classification_loss=classification_loss,
            teacher_image_embeds=teacher_image_embeds,
            teacher_text_embeds=teacher_text_embeds,
            encoder_outputs=encoding,
        )

    # ------------------------------------------------------------------ auxiliary objectives (memekit.objectives)
    @property
    def fused_dim(self) -> int:
        """Width of the fused representation (`fused_embeds`)."""
        return self.config.projection_dim

    def itc_representations(self, outputs: CLFAOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """The trainable per-modality vectors for image-text contrast: the pooled projected student features."""
        return outputs.image_embeds, outputs.text_embeds

    def itm_fused(self, outputs: CLFAOutput, text_order: torch.Tensor) -> torch.Tensor:
        """Fused representation of image i with the text (and knowledge) of post `text_order[i]`."""
        encoding = outputs.encoder_outputs
        knowledge = encoding.knowledge_tokens
        return self.fuse(
            encoding.text_tokens[text_order],
            encoding.text_mask[text_order] if encoding.text_mask is not None else None,
            encoding.image_tokens,
            knowledge[text_order] if knowledge is not None else None,
            encoding.knowledge_mask[text_order] if encoding.knowledge_mask is not None else None,
        )

    @torch.no_grad()
    def predict(
        self,
        images: list[Any],
        texts: list[str | None],
        processor: Any = None,
        batch_size: int = 16,
    ) -> list[dict[str, Any]]:
        """
        Classify posts from their images and texts (the teacher is not used).

        Args:
            images (`list`): PIL images, numpy arrays or paths to image files.
            texts (`list[str | None]`): the text of each post (missing text is allowed).
            processor (*optional*): the model's processor; defaults to the one saved beside the model.
            batch_size (`int`, *optional*, defaults to 16): posts per forward pass.

        Returns:
            `list[dict]`: per post, `label`, `score` (its probability) and `probabilities` (class name -> probability).
        """
        return _predict(self, images, texts, processor, batch_size)


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


__all__ = [
    "CLFAEncoderOutput",
    "CLFAForClassification",
    "CLFAOutput",
    "CLFAPreTrainedModel",
    "pool_tokens",
    "symmetric_info_nce",
]
