"""Official MemeCLIP checkpoint -> `MemeCLIPForClassification` folder.

The official Lightning checkpoint (`{"state_dict": ...}`) or a bare state dict with the official key names holds
`clip_model.*` (OpenAI CLIP layout, without `visual.proj`, which the official code deletes), a duplicate of the text
tower under `text_encoder.*` (ignored), and the head: `image_map.proj.*`, `text_map.proj.*`, `img_adapter.fc.*`,
`text_adapter.fc.*`, `pre_output.*`, `classifier.weight`. The head names are memekit's own, so they load 1:1.
"""

import logging
import pickle
import re
from pathlib import Path

import torch
from transformers import AutoTokenizer, CLIPImageProcessorPil

from memekit.convert.openai_clip import load_clip, openai_to_hf_state_dict
from memekit.modeling.memeclip import MemeCLIPConfig, MemeCLIPForClassification
from memekit.processing import MemeProcessor


logger = logging.getLogger(__name__)

# Class names of the official code (code/configs.py), in label-index order; Semantic-Aware Initialisation used them.
MEMECLIP_TASK_LABELS = {
    "hate": ["Benign Meme", "Harmful Meme"],
    "target": ["No particular target", "Individual", "Community", "Organization"],
    "stance": ["Neutral", "Support", "Oppose"],
    "humour": ["No Humour", "Humour"],
}
_HEAD_PREFIXES = ("image_map.", "text_map.", "img_adapter.", "text_adapter.", "pre_output.", "classifier.")
DEFAULT_TOKENIZER = "openai/clip-vit-large-patch14"


def load_official_state_dict(checkpoint: str | Path, unsafe_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Tensors of an official MemeCLIP checkpoint: a Lightning checkpoint (`state_dict` inside) or a bare state dict.

    Lightning checkpoints may pickle objects besides tensors (e.g. a yacs config); those need `unsafe_pickle=True`,
    which runs arbitrary pickled code: only use it on files you trust.
    """
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"`checkpoint` file not found: {str(path)!r}.")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=not unsafe_pickle)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{str(path)!r} holds pickled objects besides tensors ({error}). If you trust the file, convert with "
            "`--unsafe-pickle` (needs the packages those objects come from, e.g. yacs)."
        ) from error
    state_dict = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state_dict, dict) or "classifier.weight" not in state_dict:
        raise ValueError(
            f"{str(path)!r} is not an official MemeCLIP checkpoint: expected a state dict (or a Lightning checkpoint "
            "with `state_dict`) holding `classifier.weight`, `image_map.proj.0.weight`, ..."
        )
    return state_dict


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
    """
    if task not in MEMECLIP_TASK_LABELS:
        raise ValueError(f"`task` must be one of {sorted(MEMECLIP_TASK_LABELS)}, got {task!r}.")
    labels = MEMECLIP_TASK_LABELS[task]
    official = load_official_state_dict(checkpoint, unsafe_pickle=unsafe_pickle)
    head = {key: value.float() for key, value in official.items() if key.startswith(_HEAD_PREFIXES)}
    if head["classifier.weight"].shape[0] != len(labels):
        raise ValueError(
            f"The checkpoint's classifier has {head['classifier.weight'].shape[0]} classes but task {task!r} has "
            f"{len(labels)} ({labels}); pass the task the checkpoint was trained for."
        )

    clip_model = load_clip(clip)
    clip_state = clip_model.state_dict()
    openai_keys = {key[len("clip_model.") :]: value for key, value in official.items() if key.startswith("clip_model.")}
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
            len(from_checkpoint), len(clip_state) - len(from_checkpoint), clip,
        )

    config = MemeCLIPConfig(
        clip_config=clip_model.config,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **_head_hyperparameters(head),
    )
    model = MemeCLIPForClassification(config)
    model.clip.load_state_dict(clip_state)
    missing, unexpected = model.load_state_dict(head, strict=False)
    missing_head = [key for key in missing if not key.startswith("clip.")]
    if missing_head or unexpected:
        raise ValueError(f"Head weights do not fit: missing {missing_head}, unexpected {unexpected}.")
    model.eval()

    processor = _build_processor(clip, tokenizer, config)
    output = Path(output)
    model.save_pretrained(output)
    processor.save_pretrained(output)
    logger.info("Wrote the converted MemeCLIP (%s) to %s", task, output)
    return model


def _build_processor(clip: str | Path, tokenizer: str | Path | None, config: MemeCLIPConfig) -> MemeProcessor:
    source = tokenizer if tokenizer is not None else (DEFAULT_TOKENIZER if Path(clip).is_file() else clip)
    image_size = config.clip_config.vision_config.image_size
    try:
        image_processor = CLIPImageProcessorPil.from_pretrained(source)
    except OSError:
        # OpenAI `.pt` files and tokenizer-only folders carry no image-processor file: use CLIP's standard one.
        image_processor = CLIPImageProcessorPil(
            size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
        )
    return MemeProcessor(
        image_processor=image_processor,
        tokenizer=AutoTokenizer.from_pretrained(source),
        image_mode="memeclip",
        max_length=config.clip_config.text_config.max_position_embeddings,
    )
