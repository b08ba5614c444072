"""Pieces every converter of an official checkpoint needs: reading the checkpoint, building the processor."""

import pickle
from pathlib import Path

import torch
from transformers import AutoTokenizer, CLIPConfig, CLIPImageProcessorPil

from memekit.outputs import replacing
from memekit.processing import PRESETS, MemeProcessor


DEFAULT_CLIP_TOKENIZER = "openai/clip-vit-large-patch14"
MODEL_KIND = "converted model"  # the kind named in the manifest of a converted folder (memekit.outputs)


def load_official_state_dict(
    checkpoint: str | Path, required_key: str, model_name: str, unsafe_pickle: bool = False
) -> dict[str, torch.Tensor]:
    """
    Tensors of an official checkpoint: a bare state dict, or a (Lightning-style) dict holding one under `state_dict`.

    Checkpoints that pickle objects besides tensors (e.g. a yacs config) need `unsafe_pickle=True`, which runs
    arbitrary pickled code: only use it on files you trust.
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
    if not isinstance(state_dict, dict) or required_key not in state_dict:
        raise ValueError(
            f"{str(path)!r} is not an official {model_name} checkpoint: expected a state dict (or a dict with "
            f"`state_dict`) holding `{required_key}`."
        )
    return state_dict


def build_processor(
    clip: str | Path, tokenizer: str | Path | None, clip_config: CLIPConfig, preset: str
) -> MemeProcessor:
    """
    The processor of a converted model: CLIP's tokenizer and image processor from `tokenizer` (defaulting to `clip`
    when that is a Hub id or folder, and to ViT-L/14's when it is an OpenAI `.pt` file), with a model's `preset`.
    """
    source = tokenizer if tokenizer is not None else (DEFAULT_CLIP_TOKENIZER if Path(clip).is_file() else clip)
    image_size = clip_config.vision_config.image_size
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
        max_length=clip_config.text_config.max_position_embeddings,
        **PRESETS[preset],
    )


def load_head(model: torch.nn.Module, head: dict[str, torch.Tensor], backbone_prefixes: tuple[str, ...]) -> None:
    """Load the converted head weights; every non-backbone weight of the model must be among them, and no more."""
    missing, unexpected = model.load_state_dict(head, strict=False)
    missing_head = [key for key in missing if not key.startswith(backbone_prefixes)]
    if missing_head or unexpected:
        raise ValueError(f"Head weights do not fit: missing {missing_head}, unexpected {unexpected}.")


def write_converted(
    model: torch.nn.Module, processor: MemeProcessor, output: str | Path, overwrite: bool = False
) -> None:
    """Save a converted model (in eval mode) and its processor with `save_pretrained`, bundle code included, into a
    new `output` folder; an existing non-empty one is replaced only with `overwrite`, and only if memekit wrote it."""
    with replacing(output, MODEL_KIND, overwrite, info={"model_type": model.config.model_type}) as staging:
        model.eval().save_pretrained(staging)
        processor.save_pretrained(staging)
