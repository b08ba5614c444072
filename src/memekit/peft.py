"""LayerNorm tuning of memekit models, expressed as PEFT configurations, and the release path back to plain models.

`cdglt_ln_tuning_config` gives exactly the trainable set of the official CDGLT: GPT-2's LayerNorms (LN-tuning targets)
plus its positional embeddings and the new heads (`modules_to_save`). `clip_ln_tuning_config` tunes CLIP's own
LayerNorms under a MemeCLIP or CDGLT head. `merge_and_unwrap` turns a trained PEFT model into the plain memekit model
for `save_pretrained` and Hub release.
"""

import torch
from peft import LNTuningConfig, PeftModel
from peft.utils.other import ModulesToSaveWrapper

from memekit.modeling.cdglt import CDGLTForClassification
from memekit.modeling.memeclip import MemeCLIPForClassification


# Heads that are trained in full (new, randomly initialised or SAI-initialised modules).
_HEADS = {
    CDGLTForClassification: ["adapter", "feature_projection", "gate", "classifier"],
    MemeCLIPForClassification: ["image_map", "text_map", "img_adapter", "text_adapter", "pre_output", "classifier"],
}
# transformers' CLIP LayerNorms; `pre_layrnorm` is misspelt in transformers and must be matched as it is.
_CLIP_LAYER_NORMS = r"(layer_norm1|layer_norm2|pre_layrnorm|post_layernorm|final_layer_norm)"
_CLIP_TOWERS = {"vision": "vision_model", "text": "text_model"}


def _heads(model: torch.nn.Module) -> list[str]:
    for model_class, heads in _HEADS.items():
        if isinstance(model, model_class):
            return list(heads)
    raise TypeError(
        f"Expected a memekit model ({', '.join(cls.__name__ for cls in _HEADS)}), got {type(model).__name__}."
    )


def cdglt_ln_tuning_config(model: CDGLTForClassification) -> LNTuningConfig:
    """
    The official CDGLT trainable set as a PEFT `LNTuningConfig`: every GPT-2 LayerNorm (`ln_1`, `ln_2`, `ln_f`) is an
    LN-tuning target; GPT-2's positional embeddings (`wpe`), the fusion adapter, the projection, the gate and the
    classifier are `modules_to_save`. With GPT-2 small and 2 classes that is 3,187,203 trainable parameters.

    Code vs paper: "LayerNorm tuning" in the original also trains `wpe` (a quarter of the trainable parameters) and
    the heads; the LayerNorms alone are about 1%.
    """
    if not isinstance(model, CDGLTForClassification):
        raise TypeError(f"`model` must be a CDGLTForClassification, got {type(model).__name__}.")
    return LNTuningConfig(
        target_modules=r"gpt2\.(h\.\d+\.ln_[12]|ln_f)",
        modules_to_save=["wpe", *_heads(model)],
    )


def clip_ln_tuning_config(
    model: MemeCLIPForClassification | CDGLTForClassification,
    towers: tuple[str, ...] = ("vision", "text"),
) -> LNTuningConfig:
    """
    LayerNorm tuning of CLIP itself under a memekit head: the LayerNorms of the chosen CLIP towers are LN-tuning
    targets and the model's heads (for CDGLT: adapter, projection, gate, classifier) are `modules_to_save`. Frozen
    CLIP features cannot be cached for a model tuned this way: CLIP's outputs change during training.

    Args:
        model: a MemeCLIP or CDGLT model.
        towers: which CLIP towers to tune, any of `"vision"` and `"text"`.
    """
    heads = _heads(model)
    if isinstance(towers, str) or not towers or not set(towers) <= set(_CLIP_TOWERS):
        raise ValueError(f"`towers` must be a non-empty subset of {tuple(_CLIP_TOWERS)}, got {towers!r}.")
    tower_pattern = "|".join(_CLIP_TOWERS[tower] for tower in towers)
    return LNTuningConfig(
        target_modules=rf"clip\.({tower_pattern})\.(.*\.)?{_CLIP_LAYER_NORMS}",
        modules_to_save=heads,
    )


def merge_and_unwrap(model: PeftModel) -> torch.nn.Module:
    """
    Merge LayerNorm-tuning adapters into the base model and remove every PEFT wrapper, giving the plain memekit model
    (for `save_pretrained`, Hub release and loading without peft).

    PEFT 0.21's LN-tuning `merge_and_unload` leaves `ModulesToSaveWrapper`s in place; saved as they are, their weights
    land under keys the plain model does not know and are silently re-initialised on load. This replaces each wrapper
    by its trained module.
    """
    if not isinstance(model, PeftModel):
        raise TypeError(f"`model` must be a PeftModel (from `get_peft_model`), got {type(model).__name__}.")
    merged = model.merge_and_unload()
    wrappers = [(name, module) for name, module in merged.named_modules() if isinstance(module, ModulesToSaveWrapper)]
    for name, wrapper in wrappers:
        parent_name, _, child_name = name.rpartition(".")
        parent = merged.get_submodule(parent_name) if parent_name else merged
        trained = wrapper.unload_and_optionally_merge_module(merge=True, safe_merge=False, adapter_names=None)
        setattr(parent, child_name, trained)
    return merged
