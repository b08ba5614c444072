"""Official CDGLT state dict -> `CDGLTForClassification` folder.

The official model (`Meteor`) saves `gpt2_model.*` (the whole GPT-2, LayerNorms and positional embeddings tuned),
`adapter.0.*`, `feature_projection.*`, `prompt_embedding` (the frozen soft prompt), `scale` (the readout gate) and
`classifier.*`. CLIP is not part of it: the original runs on cached CLIP features, so `--clip` supplies the CLIP for
end-to-end use.
"""

import logging
import re
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2Model

from memekit.convert.common import (
    MODEL_KIND,
    build_processor,
    load_head,
    load_official_state_dict,
    write_converted,
)
from memekit.outputs import check_replaceable
from memekit.convert.openai_clip import load_clip
from memekit.modeling.cdglt import CDGLTConfig, CDGLTForClassification


logger = logging.getLogger(__name__)

# MET-Meme class names in label-index order (the original's mapping subtracts 1 from the 1-based annotations of
# sentiment, sentiment degree and intention).
CDGLT_TASK_LABELS = {
    "sentiment": ["happiness", "love", "anger", "sorrow", "fear", "hate", "surprise"],
    "sentiment_degree": ["slightly", "moderately", "very"],
    "intention": ["interactive", "expressive", "entertaining", "offensive", "other"],
    "offensiveness": ["non-offensive", "slightly", "moderately", "very"],
    "metaphor": ["literal", "metaphorical"],
}
# Causal-mask buffers that older transformers versions stored in GPT-2 state dicts.
_STALE_GPT2_KEYS = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)$")


def convert_cdglt(
    checkpoint: str | Path,
    gpt2: str | Path,
    clip: str | Path,
    task: str,
    output: str | Path,
    tokenizer: str | Path | None = None,
    unsafe_pickle: bool = False,
    overwrite: bool = False,
) -> CDGLTForClassification:
    """
    Convert an official CDGLT state dict and write a `save_pretrained` folder (model, processor, bundle code).

    Args:
        checkpoint: the official state dict file (`torch.save(model.state_dict())`, or a dict with `state_dict`).
        gpt2: Hub id or folder of the GPT-2 it was built on; gives the GPT-2 configuration, and the GPT-2 weights the
            checkpoint lacks if it does not hold the whole GPT-2.
        clip: Hub id or folder of a transformers CLIP, or an OpenAI-format `.pt`, for end-to-end use (pixels and
            token ids in); the original was trained on features of `openai/clip-vit-large-patch14`.
        task: the MET-Meme task the checkpoint was trained for; it names the classes.
        output: folder to write.
        tokenizer: Hub id or folder of the CLIP tokenizer and image processor (defaults as for MemeCLIP).
        unsafe_pickle: allow non-tensor pickled objects in `checkpoint` (trusted files only).
        overwrite: replace an existing `output` folder, which must be one memekit wrote.
    """
    if task not in CDGLT_TASK_LABELS:
        raise ValueError(f"`task` must be one of {sorted(CDGLT_TASK_LABELS)}, got {task!r}.")
    labels = CDGLT_TASK_LABELS[task]
    check_replaceable(output, MODEL_KIND, overwrite)  # before the slow part, so a refusal costs nothing
    official = load_official_state_dict(checkpoint, "adapter.0.weight", "CDGLT", unsafe_pickle=unsafe_pickle)
    if official["classifier.weight"].shape[0] != len(labels):
        raise ValueError(
            f"The checkpoint's classifier has {official['classifier.weight'].shape[0]} classes but task {task!r} has "
            f"{len(labels)} ({labels}); pass the task the checkpoint was trained for."
        )

    clip_model = load_clip(clip)
    feature_dim = clip_model.config.projection_dim
    adapter_shape = tuple(official["adapter.0.weight"].shape)
    if adapter_shape not in [(feature_dim, 3 * feature_dim), (feature_dim, 2 * feature_dim)]:
        raise ValueError(
            f"The checkpoint's adapter weight has shape {adapter_shape}, which fits neither CDGLT (d, 3d) nor its "
            f"no-drift ablation (d, 2d) for the {feature_dim}-d features of the CLIP given by `clip` ({clip}); pass "
            "the CLIP the features were extracted with (ViT-L/14 for the official release)."
        )
    config = CDGLTConfig(
        clip_config=clip_model.config,
        gpt2_config=GPT2Config.from_pretrained(gpt2),
        use_concept_drift=adapter_shape[1] == 3 * feature_dim,
        prompt_length=official["prompt_embedding"].shape[0],
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    model = CDGLTForClassification(config)
    model.clip.load_state_dict(clip_model.state_dict())
    model.gpt2.load_state_dict(_gpt2_state_dict(official, model.gpt2, gpt2))
    head = {
        key: value.float()
        for key, value in official.items()
        if key.startswith(("adapter.", "feature_projection.", "classifier.")) or key == "prompt_embedding"
    }
    head["gate.weight"] = official["scale"].float().reshape(1)
    load_head(model, head, backbone_prefixes=("clip.", "gpt2."))
    write_converted(model, build_processor(clip, tokenizer, config.clip_config, preset="cdglt"), output, overwrite)
    logger.info("Wrote the converted CDGLT (%s) to %s", task, output)
    return model


def _gpt2_state_dict(official: dict, gpt2: GPT2Model, source: str | Path) -> dict[str, torch.Tensor]:
    """GPT-2 weights from the checkpoint's `gpt2_model.*`, completed from `source` when the checkpoint lacks some."""
    from_checkpoint = {
        key[len("gpt2_model.") :]: value.float()
        for key, value in official.items()
        if key.startswith("gpt2_model.") and not _STALE_GPT2_KEYS.search(key)
    }
    expected = gpt2.state_dict()
    unknown = sorted(set(from_checkpoint) - set(expected))
    if unknown:
        raise ValueError(f"GPT-2 weights of the checkpoint unknown to the GPT-2 of `gpt2` ({source}): {unknown[:5]}.")
    for key, value in from_checkpoint.items():
        if value.shape != expected[key].shape:
            raise ValueError(
                f"GPT-2 weight {key!r} of the checkpoint has shape {tuple(value.shape)} but the GPT-2 of `gpt2` "
                f"({source}) expects {tuple(expected[key].shape)}."
            )
    if set(expected) - set(from_checkpoint):
        logger.info("Completing the checkpoint's GPT-2 with the weights of %s", source)
        state_dict = GPT2Model.from_pretrained(source).state_dict()
        state_dict.update(from_checkpoint)
        return state_dict
    return from_checkpoint
