"""Official MemeCLIP checkpoint -> `MemeCLIPForClassification` folder.

The official Lightning checkpoint (`{"state_dict": ...}`) or a bare state dict with the official key names holds
`clip_model.*` (OpenAI CLIP layout, without `visual.proj`, which the official code deletes), a duplicate of the text
tower under `text_encoder.*` (ignored), and the head: `image_map.proj.*`, `text_map.proj.*`, `img_adapter.fc.*`,
`text_adapter.fc.*`, `pre_output.*`, `classifier.weight`. The head names are memekit's own, so they load 1:1.
"""

import logging
import re
from pathlib import Path

import torch

from memekit.convert.common import (
    MODEL_KIND,
    build_processor,
    load_head,
    load_official_state_dict,
    write_converted,
)
from memekit.outputs import check_replaceable
from memekit.convert.openai_clip import load_clip, openai_to_hf_state_dict
from memekit.modeling.memeclip import MemeCLIPConfig, MemeCLIPForClassification


logger = logging.getLogger(__name__)

# Class names of the official code (code/configs.py), in label-index order; Semantic-Aware Initialisation used them.
MEMECLIP_TASK_LABELS = {
    "hate": ["Benign Meme", "Harmful Meme"],
    "target": ["No particular target", "Individual", "Community", "Organization"],
    "stance": ["Neutral", "Support", "Oppose"],
    "humour": ["No Humour", "Humour"],
}
_HEAD_PREFIXES = ("image_map.", "text_map.", "img_adapter.", "text_adapter.", "pre_output.", "classifier.")


def _head_hyperparameters(head: dict[str, torch.Tensor]) -> dict[str, int]:
    def linear_count(prefix: str) -> int:
        return len([key for key in head if re.fullmatch(rf"{re.escape(prefix)}\d+\.weight", key)])

    map_dim = head["image_map.proj.0.weight"].shape[0]
    return {
        "map_dim": map_dim,
        "num_mapping_layers": linear_count("image_map.proj."),
        "num_pre_output_layers": linear_count("pre_output."),
        "adapter_reduction": map_dim // head["img_adapter.fc.0.weight"].shape[0],
    }


def convert_memeclip(
    checkpoint: str | Path,
    clip: str | Path,
    task: str,
    output: str | Path,
    tokenizer: str | Path | None = None,
    unsafe_pickle: bool = False,
    overwrite: bool = False,
) -> MemeCLIPForClassification:
    """
    Convert an official MemeCLIP checkpoint and write a `save_pretrained` folder (model, processor, bundle code).

    Args:
        checkpoint: the official checkpoint file (Lightning `.ckpt` or a bare state dict).
        clip: Hub id or folder of a transformers `CLIPModel`, or an OpenAI-format CLIP `.pt`. It supplies what the
            checkpoint lacks (`visual.proj`, and all of CLIP when the checkpoint holds only the head).
        task: the official task the checkpoint was trained for (`hate`, `target`, `stance` or `humour`); it names
            the classes.
        output: folder to write.
        tokenizer: Hub id or folder of the CLIP tokenizer and image processor. Defaults to `clip` when that is a Hub id
            or folder, and to `openai/clip-vit-large-patch14` when it is a `.pt` file.
        unsafe_pickle: allow non-tensor pickled objects in `checkpoint` (trusted files only).
        overwrite: replace an existing `output` folder, which must be one memekit wrote.
    """
    if task not in MEMECLIP_TASK_LABELS:
        raise ValueError(f"`task` must be one of {sorted(MEMECLIP_TASK_LABELS)}, got {task!r}.")
    labels = MEMECLIP_TASK_LABELS[task]
    check_replaceable(output, MODEL_KIND, overwrite)  # before the slow part, so a refusal costs nothing
    official = load_official_state_dict(checkpoint, "classifier.weight", "MemeCLIP", unsafe_pickle=unsafe_pickle)
    head = {key: value.float() for key, value in official.items() if key.startswith(_HEAD_PREFIXES)}
    if "image_map.proj.0.weight" not in head:
        raise ValueError(
            f"{str(checkpoint)!r} is not an official MemeCLIP checkpoint: it has no `image_map.proj.0.weight`."
        )
    if head["classifier.weight"].shape[0] != len(labels):
        raise ValueError(
            f"The checkpoint's classifier has {head['classifier.weight'].shape[0]} classes but task {task!r} has "
            f"{len(labels)} ({labels}); pass the task the checkpoint was trained for."
        )

    clip_model = load_clip(clip)
    clip_state = clip_model.state_dict()
    openai_keys = {
        key[len("clip_model.") :]: value for key, value in official.items() if key.startswith("clip_model.")
    }
    if openai_keys:
        from_checkpoint = openai_to_hf_state_dict(openai_keys)
        for key, value in from_checkpoint.items():
            if key not in clip_state or clip_state[key].shape != value.shape:
                raise ValueError(
                    f"CLIP weight {key!r} of the checkpoint does not fit the CLIP given by `clip` ({clip}): "
                    f"{tuple(value.shape)} vs {tuple(clip_state[key].shape) if key in clip_state else 'absent'}. "
                    "Pass the CLIP variant the checkpoint was trained with (ViT-L/14 for the official release)."
                )
        clip_state.update(from_checkpoint)
        logger.info(
            "Took %d CLIP tensors from the checkpoint and %d from %s (visual projection included).",
            len(from_checkpoint),
            len(clip_state) - len(from_checkpoint),
            clip,
        )

    config = MemeCLIPConfig(
        clip_config=clip_model.config,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **_head_hyperparameters(head),
    )
    model = MemeCLIPForClassification(config)
    model.clip.load_state_dict(clip_state)
    load_head(model, head, backbone_prefixes=("clip.",))
    write_converted(model, build_processor(clip, tokenizer, config.clip_config, preset="memeclip"), output, overwrite)
    logger.info("Wrote the converted MemeCLIP (%s) to %s", task, output)
    return model
