"""CLFA configuration.

CLFA (Zhang, Chang, Wu, LREC-COLING 2024, arXiv 2403.06355: CLIP-guided Contrastive-Learning-based Feature Alignment)
classifies a post from trainable student encoders (BERT text, ViT image) whose projected token features are pulled
toward a frozen CLIP teacher's embeddings of the same post, then fused by cross-attention layers. Defaults follow the
official code (ChangKe123/CLFA at commit ac96b8d, class `VitBERT`): `bert-base-uncased`, ViT-B/32 (in21k), CLIP
ViT-B/32 as teacher, MLPs 768 -> 1536 -> 512, three 512-wide fusion layers with 8 heads, temperature 0.1.
"""

import copy
import math
from typing import Any

from transformers import AutoConfig, BertConfig, CLIPConfig, PretrainedConfig, ViTConfig


POOLING_CHOICES = ("mean", "cls", "max")


class CLFAConfig(PretrainedConfig):
    r"""
    Configuration of a [`CLFAForClassification`] model.

    Args:
        text_config (`dict` or `PretrainedConfig`, *optional*):
            Configuration of the trainable student text encoder: any configuration `AutoModel.from_config` can build
            (e.g. `BertConfig`, `RobertaConfig`, `CLIPTextConfig`). A dict needs its `model_type`. Defaults to
            `BertConfig()` (the shape of `bert-base-uncased`). The same encoder reads the optional knowledge text.
        vision_config (`dict` or `PretrainedConfig`, *optional*):
            Configuration of the trainable student image encoder (e.g. `ViTConfig`, `CLIPVisionConfig`); its
            `last_hidden_state` must be a token sequence. Defaults to `ViTConfig(patch_size=32)` (the shape of
            `google/vit-base-patch32-224-in21k`).
        teacher_config (`dict` or `CLIPConfig`, *optional*):
            Configuration of the frozen CLIP teacher whose projected embeddings the students are aligned to. Defaults
            to `CLIPConfig()` (ViT-B/32 sizes). Kept even when `use_teacher=False`: it describes the cached teacher
            embeddings.
        use_teacher (`bool`, *optional*, defaults to `True`):
            Whether the model holds the teacher. Without it, alignment needs cached teacher embeddings
            (`teacher_image_embeds`, `teacher_text_embeds`), and the model still predicts.
        projection_hidden_dim (`int`, *optional*):
            Hidden width of the two projection MLPs. Defaults to twice the hidden size of each student (1536 for
            BERT-base and ViT-B), as the original.
        projection_dim (`int`, *optional*):
            Output width of the projection MLPs and width of the fusion layers. Must equal the teacher's
            `projection_dim` (the students are compared with the teacher's embeddings); defaults to it (512).
        num_fusion_layers (`int`, *optional*, defaults to 3):
            Number of fusion layers (text self-attention, text -> image cross-attention, optional text -> knowledge
            cross-attention, feed-forward).
        fusion_heads (`int`, *optional*, defaults to 8):
            Attention heads of the fusion layers; must divide `projection_dim`.
        fusion_intermediate_size (`int`, *optional*, defaults to 2048):
            Hidden width of the fusion layers' feed-forward block.
        fusion_dropout (`float`, *optional*, defaults to 0.1):
            Dropout on the attention probabilities and on every residual branch of the fusion layers.
        pooling (`str`, *optional*, defaults to `"mean"`):
            How the fused text sequence becomes one vector: `"mean"` (masked mean, the original's choice in all its
            scripts), `"cls"` (first token) or `"max"` (masked max).
        use_knowledge (`bool`, *optional*, defaults to `False`):
            Whether each post has a second text sequence ("knowledge", e.g. OCR text or a caption), read by the same
            student text encoder and attended to by a second cross-attention in every fusion layer.
        alpha (`float`, *optional*, defaults to 1.0):
            Weight of the alignment loss `L_img + L_txt`; 0 gives the original's "no alignment" ablation.
        beta (`float`, *optional*, defaults to 1.0):
            Weight of the cross-entropy loss.
        temperature (`float`, *optional*, defaults to 0.1):
            Fixed temperature of the alignment InfoNCE (not learned).
        classifier_dropout (`float`, *optional*, defaults to 0.1):
            Dropout before the classifier.
        kwargs:
            Passed to [`PretrainedConfig`], e.g. `id2label`/`label2id` or `num_labels` (free: the original
            hard-codes 2).

    Example:

    ```python
    >>> from transformers import CLIPConfig
    >>> from memekit import CLFAConfig, CLFAForClassification
    >>> config = CLFAConfig(id2label={0: "not sarcastic", 1: "sarcastic"})
    >>> model = CLFAForClassification(config)
    >>> clip_variant = CLFAConfig.clip_students(CLIPConfig(), num_labels=3)  # students are CLIP's own towers
    ```
    """

    model_type = "clfa"
    sub_configs = {"text_config": AutoConfig, "vision_config": AutoConfig, "teacher_config": CLIPConfig}
    # `temperature` is also a generation parameter's name, which `save_pretrained` refuses in a model config unless it
    # is a declared field of the configuration class: this annotation declares it.
    temperature: float = 0.1

    def __init__(
        self,
        text_config: dict | PretrainedConfig | None = None,
        vision_config: dict | PretrainedConfig | None = None,
        teacher_config: dict | CLIPConfig | None = None,
        use_teacher: bool = True,
        projection_hidden_dim: int | None = None,
        projection_dim: int | None = None,
        num_fusion_layers: int = 3,
        fusion_heads: int = 8,
        fusion_intermediate_size: int = 2048,
        fusion_dropout: float = 0.1,
        pooling: str = "mean",
        use_knowledge: bool = False,
        alpha: float = 1.0,
        beta: float = 1.0,
        temperature: float = 0.1,
        classifier_dropout: float = 0.1,
        **kwargs,
    ):
        self.text_config = _as_any_config(text_config, BertConfig, "text_config")
        self.vision_config = _as_any_config(vision_config, lambda: ViTConfig(patch_size=32), "vision_config")
        self.teacher_config = _as_clip_config(teacher_config)
        self.use_teacher = use_teacher
        self.projection_hidden_dim = projection_hidden_dim
        self.projection_dim = self.teacher_config.projection_dim if projection_dim is None else projection_dim
        self.num_fusion_layers = num_fusion_layers
        self.fusion_heads = fusion_heads
        self.fusion_intermediate_size = fusion_intermediate_size
        self.fusion_dropout = fusion_dropout
        self.pooling = pooling
        self.use_knowledge = use_knowledge
        self.alpha = alpha
        self.beta = beta
        self.temperature = temperature
        self.classifier_dropout = classifier_dropout
        super().__init__(**kwargs)
        self._validate()

    @classmethod
    def clip_students(cls, clip_config: dict | CLIPConfig | None = None, **kwargs: Any) -> "CLFAConfig":
        """
        The variant whose students are CLIP's own towers: `text_config` and `vision_config` are copies of the
        teacher's text and vision configurations, so the students start in CLIP's architecture (and, through
        `CLFAForClassification.from_pretrained_backbones`, from CLIP's weights) and read the teacher's inputs.

        Args:
            clip_config (`dict` or `CLIPConfig`, *optional*):
                The CLIP whose towers become the students and which is the teacher. Defaults to `CLIPConfig()`.
            kwargs:
                Further [`CLFAConfig`] fields.
        """
        clip_config = _as_clip_config(clip_config)
        return cls(
            text_config=copy.deepcopy(clip_config.text_config),
            vision_config=copy.deepcopy(clip_config.vision_config),
            teacher_config=clip_config,
            **kwargs,
        )

    def _validate(self) -> None:
        for name in ("use_teacher", "use_knowledge"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"`{name}` must be a bool, got {getattr(self, name)!r}.")
        for name in ("num_fusion_layers", "fusion_heads", "fusion_intermediate_size", "projection_dim"):
            _check_positive_int(name, getattr(self, name))
        if self.projection_hidden_dim is not None:
            _check_positive_int("projection_hidden_dim", self.projection_hidden_dim)
        if self.projection_dim % self.fusion_heads != 0:
            raise ValueError(
                f"`projection_dim` ({self.projection_dim}) must be divisible by `fusion_heads` ({self.fusion_heads}): "
                "the fusion layers split their width evenly across heads."
            )
        if self.projection_dim != self.teacher_config.projection_dim:
            raise ValueError(
                f"`projection_dim` ({self.projection_dim}) must equal the teacher's `projection_dim` "
                f"({self.teacher_config.projection_dim}): the projected student features are compared with the "
                "teacher's embeddings."
            )
        for name in ("fusion_dropout", "classifier_dropout"):
            value = getattr(self, name)
            if not _is_real(value) or not 0.0 <= value < 1.0:
                raise ValueError(f"`{name}` must be a probability in [0, 1), got {value!r}.")
        if self.pooling not in POOLING_CHOICES:
            raise ValueError(f"`pooling` must be one of {POOLING_CHOICES}, got {self.pooling!r}.")
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value) or value < 0:
                raise ValueError(f"`{name}` must be a finite non-negative number, got {value!r}.")
        if not _is_real(self.temperature) or not math.isfinite(self.temperature) or self.temperature <= 0:
            raise ValueError(f"`temperature` must be a finite positive number, got {self.temperature!r}.")
        for name in ("text_config", "vision_config"):
            if not isinstance(getattr(getattr(self, name), "hidden_size", None), int):
                raise ValueError(
                    f"`{name}` ({type(getattr(self, name)).__name__}) must describe an encoder with an integer "
                    "`hidden_size`: its token states feed the projection MLP."
                )

    @property
    def text_hidden_size(self) -> int:
        """Width of the student text encoder's token states (768 for BERT-base, 512 for CLIP ViT-B's text tower)."""
        return self.text_config.hidden_size

    @property
    def vision_hidden_size(self) -> int:
        """Width of the student image encoder's token states (768 for ViT-B)."""
        return self.vision_config.hidden_size

    @property
    def text_projection_hidden_dim(self) -> int:
        """Hidden width of the text projection MLP: `projection_hidden_dim`, or twice the text hidden size."""
        return 2 * self.text_hidden_size if self.projection_hidden_dim is None else self.projection_hidden_dim

    @property
    def image_projection_hidden_dim(self) -> int:
        """Hidden width of the image projection MLP: `projection_hidden_dim`, or twice the vision hidden size."""
        return 2 * self.vision_hidden_size if self.projection_hidden_dim is None else self.projection_hidden_dim


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")


def _as_any_config(value: Any, default_factory: Any, name: str) -> PretrainedConfig:
    if value is None:
        return default_factory()
    if isinstance(value, PretrainedConfig):
        return value
    if isinstance(value, dict):
        settings = dict(value)
        model_type = settings.pop("model_type", None)
        if not model_type:
            raise ValueError(
                f"`{name}` given as a dict needs a `model_type` (e.g. 'bert', 'vit', 'clip_text_model') to pick its "
                "configuration class."
            )
        return AutoConfig.for_model(model_type, **settings)
    raise TypeError(f"`{name}` must be a `PretrainedConfig` or a dict, got {type(value).__name__}.")


def _as_clip_config(value: Any) -> CLIPConfig:
    if value is None:
        return CLIPConfig()
    if isinstance(value, dict):
        return CLIPConfig(**{key: item for key, item in value.items() if key != "model_type"})
    if not isinstance(value, CLIPConfig):
        raise TypeError(
            f"`teacher_config` must be a `CLIPConfig` or a dict, got {type(value).__name__}. Pass `CLIPModel.config` "
            "or `CLIPConfig(...)`."
        )
    return value


__all__ = ["CLFAConfig"]
