"""MemeCLIP configuration.

MemeCLIP (Shah et al., EMNLP 2024, arXiv 2409.14703) puts a small trainable head on top of a frozen CLIP. This file
describes the head and nests the CLIP configuration it runs on. Defaults follow the official code
(SiddhantBikram/MemeCLIP, `code/configs.py`) with OpenAI CLIP ViT-L/14.
"""

from transformers import CLIPConfig, PretrainedConfig


class MemeCLIPConfig(PretrainedConfig):
    r"""
    Configuration of a [`MemeCLIPForClassification`] model.

    Args:
        clip_config (`dict` or `CLIPConfig`, *optional*):
            Configuration of the frozen CLIP backbone. Defaults to `CLIPConfig()` (ViT-B/32 sizes); models built with
            `MemeCLIPForClassification.from_clip` copy the configuration of the CLIP they load.
        map_dim (`int`, *optional*):
            Width of the per-modality projections, adapters and fusion. Defaults to the hidden size of the CLIP vision
            tower (1024 for ViT-L/14), which is what Semantic-Aware Initialisation needs: it maps class prompts into
            that space through the transpose of CLIP's visual projection.
        num_mapping_layers (`int`, *optional*, defaults to 1):
            Number of linear layers in each modality projection.
        num_pre_output_layers (`int`, *optional*, defaults to 1):
            Number of linear layers between the fusion and the cosine classifier.
        adapter_reduction (`int`, *optional*, defaults to 4):
            Bottleneck reduction of the feature adapters (`map_dim // adapter_reduction` hidden units).
        residual_ratio (`float`, *optional*, defaults to 0.2):
            Weight of the adapter output in the residual mix `ratio * adapter(x) + (1 - ratio) * x`.
        dropout_probs (`list[float]`, *optional*, defaults to `[0.1, 0.4, 0.2]`):
            Dropout after the projections, before the first pre-output layer, and after each pre-output layer.
        logit_scale (`float`, *optional*, defaults to 30.0):
            Scale of the cosine classifier's logits.
        prompt_template (`str`, *optional*, defaults to `"a photo of a {}."`):
            Template for Semantic-Aware Initialisation; `{}` receives each class name (underscores become spaces).
        freeze_clip (`bool`, *optional*, defaults to `True`):
            Whether the CLIP backbone is frozen when the model is built.
        kwargs:
            Passed to [`PretrainedConfig`], e.g. `id2label`/`label2id` (the class names, used by Semantic-Aware
            Initialisation and by `predict`).

    Example:

    ```python
    >>> from memekit import MemeCLIPConfig, MemeCLIPForClassification
    >>> config = MemeCLIPConfig(id2label={0: "Benign Meme", 1: "Harmful Meme"})
    >>> model = MemeCLIPForClassification(config)
    ```
    """

    model_type = "memeclip"
    sub_configs = {"clip_config": CLIPConfig}

    def __init__(
        self,
        clip_config: dict | CLIPConfig | None = None,
        map_dim: int | None = None,
        num_mapping_layers: int = 1,
        num_pre_output_layers: int = 1,
        adapter_reduction: int = 4,
        residual_ratio: float = 0.2,
        dropout_probs: list[float] | tuple[float, float, float] = (0.1, 0.4, 0.2),
        logit_scale: float = 30.0,
        prompt_template: str = "a photo of a {}.",
        freeze_clip: bool = True,
        **kwargs,
    ):
        if clip_config is None:
            clip_config = CLIPConfig()
        elif isinstance(clip_config, dict):
            clip_config = CLIPConfig(**clip_config)
        elif not isinstance(clip_config, CLIPConfig):
            raise TypeError(
                f"`clip_config` must be a `CLIPConfig` or a dict, got {type(clip_config).__name__}. "
                "Pass `CLIPModel.config` or `CLIPConfig(...)`."
            )
        self.clip_config = clip_config
        self.map_dim = clip_config.vision_config.hidden_size if map_dim is None else map_dim
        self.num_mapping_layers = num_mapping_layers
        self.num_pre_output_layers = num_pre_output_layers
        self.adapter_reduction = adapter_reduction
        self.residual_ratio = residual_ratio
        self.dropout_probs = [float(p) for p in dropout_probs]
        self.logit_scale = logit_scale
        self.prompt_template = prompt_template
        self.freeze_clip = freeze_clip
        super().__init__(**kwargs)
        self._validate_head()

    def _validate_head(self):
        for name in ("map_dim", "num_mapping_layers", "num_pre_output_layers", "adapter_reduction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
        if self.map_dim // self.adapter_reduction < 1:
            raise ValueError(
                f"`adapter_reduction` ({self.adapter_reduction}) must not exceed `map_dim` ({self.map_dim}): the "
                "adapter bottleneck would have no units."
            )
        if not 0.0 <= self.residual_ratio <= 1.0:
            raise ValueError(f"`residual_ratio` must be in [0, 1], got {self.residual_ratio!r}.")
        if len(self.dropout_probs) != 3 or not all(0.0 <= p < 1.0 for p in self.dropout_probs):
            raise ValueError(
                "`dropout_probs` must hold three probabilities in [0, 1) (after the projections, before and after "
                f"the pre-output layers), got {self.dropout_probs!r}."
            )
        if not self.logit_scale > 0:
            raise ValueError(f"`logit_scale` must be positive, got {self.logit_scale!r}.")
        if not isinstance(self.prompt_template, str) or self.prompt_template.count("{}") != 1:
            raise ValueError(
                f"`prompt_template` must contain exactly one `{{}}` for the class name, got {self.prompt_template!r}."
            )

    @property
    def image_embed_dim(self) -> int:
        """Width of the image vector the head consumes: CLIP's projected image embedding."""
        return self.clip_config.projection_dim

    @property
    def text_embed_dim(self) -> int:
        """Width of the text vector the head consumes: the unprojected final-LayerNorm EOT state."""
        return self.clip_config.text_config.hidden_size


__all__ = ["MemeCLIPConfig"]
