"""CDGLT configuration.

CDGLT (Qian et al., ICMR 2025, arXiv 2505.11237: Concept Drift Guided LayerNorm Tuning) classifies memes from frozen
CLIP features with a frozen GPT-2 whose LayerNorms (and positional embeddings) are tuned. Defaults follow the official
code (Qianvenh/CDGLT at commit 7223869): CLIP ViT-L/14, GPT-2 small, SLERP alpha 0.8, a 10-token frozen soft prompt.
"""

from transformers import CLIPConfig, GPT2Config, PretrainedConfig


class CDGLTConfig(PretrainedConfig):
    r"""
    Configuration of a [`CDGLTForClassification`] model.

    Args:
        clip_config (`dict` or `CLIPConfig`, *optional*):
            Configuration of the frozen CLIP that produces the image and text features. Defaults to `CLIPConfig()`;
            `CDGLTForClassification.from_pretrained_backbones` copies the configuration of the CLIP it loads.
        gpt2_config (`dict` or `GPT2Config`, *optional*):
            Configuration of the GPT-2 the fused token runs through. Defaults to `GPT2Config()` (GPT-2 small).
        slerp_alpha (`float`, *optional*, defaults to 0.8):
            Position of the concept-drift vector on the great-circle arc from the normalised image embedding
            (alpha 0) to the normalised text embedding (alpha 1).
        slerp_epsilon (`float`, *optional*, defaults to 1e-6):
            Added to the angle between the two embeddings before dividing by its sine, as the original does.
        use_concept_drift (`bool`, *optional*, defaults to `True`):
            Whether the drift vector is part of the fused features (`[image, drift, text]`). `False` gives the
            original "vanilla" ablation, which fuses `[image, text]`.
        prompt_length (`int`, *optional*, defaults to 10):
            Number of frozen soft-prompt tokens before the fused token.
        freeze_backbones (`bool`, *optional*, defaults to `True`):
            Whether CLIP and GPT-2 are frozen when the model is built; LayerNorm tuning then goes through PEFT
            (`memekit.peft.cdglt_ln_tuning_config`).
        kwargs:
            Passed to [`PretrainedConfig`], e.g. `id2label`/`label2id`.

    Example:

    ```python
    >>> from memekit import CDGLTConfig, CDGLTForClassification
    >>> config = CDGLTConfig(id2label={0: "literal", 1: "metaphorical"})
    >>> model = CDGLTForClassification(config)
    ```
    """

    model_type = "cdglt"
    sub_configs = {"clip_config": CLIPConfig, "gpt2_config": GPT2Config}

    def __init__(
        self,
        clip_config: dict | CLIPConfig | None = None,
        gpt2_config: dict | GPT2Config | None = None,
        slerp_alpha: float = 0.8,
        slerp_epsilon: float = 1e-6,
        use_concept_drift: bool = True,
        prompt_length: int = 10,
        freeze_backbones: bool = True,
        **kwargs,
    ):
        self.clip_config = _as_config(clip_config, CLIPConfig, "clip_config")
        self.gpt2_config = _as_config(gpt2_config, GPT2Config, "gpt2_config")
        self.slerp_alpha = slerp_alpha
        self.slerp_epsilon = slerp_epsilon
        self.use_concept_drift = use_concept_drift
        self.prompt_length = prompt_length
        self.freeze_backbones = freeze_backbones
        super().__init__(**kwargs)
        self._validate()

    def _validate(self):
        if not 0.0 <= self.slerp_alpha <= 1.0:
            raise ValueError(
                f"`slerp_alpha` must be in [0, 1] (0: image direction, 1: text), got {self.slerp_alpha!r}."
            )
        if not self.slerp_epsilon >= 0:
            raise ValueError(f"`slerp_epsilon` must be non-negative, got {self.slerp_epsilon!r}.")
        length = self.prompt_length
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"`prompt_length` must be a positive integer, got {length!r}.")
        if length + 1 > self.gpt2_config.n_positions:
            raise ValueError(
                f"`prompt_length` + 1 fused token ({length + 1}) exceeds GPT-2's `n_positions` "
                f"({self.gpt2_config.n_positions})."
            )

    @property
    def feature_dim(self) -> int:
        """Width of the CLIP image and text features: CLIP's projection width (768 for ViT-L/14)."""
        return self.clip_config.projection_dim


def _as_config(value, config_class, name):
    if value is None:
        return config_class()
    if isinstance(value, dict):
        return config_class(**value)
    if not isinstance(value, config_class):
        raise TypeError(f"`{name}` must be a `{config_class.__name__}` or a dict, got {type(value).__name__}.")
    return value


__all__ = ["CDGLTConfig"]
