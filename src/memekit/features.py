"""Frozen-feature cache: CLIP runs once per (dataset split, backbone weights, preprocessing), not once per epoch.

Every memekit model exposes `get_image_embeds(pixel_values)` and `get_text_embeds(input_ids, attention_mask)`, the
per-modality vectors its head consumes (the forward contract). When CLIP is frozen these never change during
training, so they are computed once, in large no-grad batches, and stored under

    $MEMEKIT_CACHE/features/<key>/<split>.safetensors     (MEMEKIT_CACHE defaults to ~/.cache/memekit)

where `<key>` hashes the split's `datasets` fingerprint, the bytes of every CLIP weight, the processor's settings and
vocabulary, the model class and the feature precision. Change any of them and the key changes: the cache cannot be
stale. Later epochs, seeds and runs reuse the files. Models whose CLIP is being tuned (e.g. CLIP LayerNorm tuning)
must not use the cache; `clip_is_frozen` tells.

Under several processes, each process extracts its share of the split and the shares are gathered once, so every
meme is processed exactly once.
"""

import hashlib
import json
import logging
import os
from contextlib import nullcontext
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm


logger = logging.getLogger(__name__)

FEATURE_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def default_cache_dir() -> Path:
    root = (
        os.environ.get("MEMEKIT_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memekit"
    )
    return Path(root) / "features"


def _base(model: torch.nn.Module) -> torch.nn.Module:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def frozen_part(model: torch.nn.Module) -> tuple[torch.nn.Module, bool] | None:
    """The frozen network whose outputs can be cached, and whether they replace the model's inputs.

    MemeCLIP and CDGLT: CLIP, whose features are all the head reads (they replace pixels and token ids). CLFA: the
    CLIP teacher, whose embeddings complement the inputs of the trained students. None when there is no such part.
    """
    base = _base(model)
    if hasattr(base, "get_image_embeds") and hasattr(base, "get_text_embeds"):
        return base.clip, True
    if hasattr(base, "teacher_embeds") and getattr(base, "teacher", None) is not None:
        return base.teacher, False
    return None


def can_cache_features(model: torch.nn.Module) -> bool:
    """Whether `model` has a frozen part (see `frozen_part`) with no trainable weight."""
    part = frozen_part(model)
    return part is not None and not any(p.requires_grad for p in part[0].parameters())


def clip_is_frozen(model: torch.nn.Module) -> bool:
    """Whether no CLIP weight of `model` (a memekit model, possibly PEFT-wrapped) is trainable."""
    return not any(p.requires_grad for name, p in model.named_parameters() if ".clip." in f".{name}")


def _frozen_outputs(base: torch.nn.Module, inputs) -> dict[str, torch.Tensor]:
    if hasattr(base, "get_image_embeds"):
        return {
            "image_embeds": base.get_image_embeds(inputs["pixel_values"]),
            "text_embeds": base.get_text_embeds(inputs["input_ids"], inputs["attention_mask"]),
        }
    # CLFA: the teacher reads its own inputs, or the students' when those are CLIP's (a CLIP processor made them).
    image, text = base.teacher_embeds(
        teacher_pixel_values=inputs.get("teacher_pixel_values", inputs.get("pixel_values")),
        teacher_input_ids=inputs.get("teacher_input_ids", inputs.get("input_ids")),
        teacher_attention_mask=inputs.get("teacher_attention_mask", inputs.get("attention_mask")),
    )
    return {"teacher_image_embeds": image, "teacher_text_embeds": text}


def weights_fingerprint(module: torch.nn.Module) -> str:
    """SHA-256 of the names, shapes, dtypes and bytes of every parameter and buffer of `module`."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def model_fingerprint(model: torch.nn.Module) -> str:
    """The model class and the bytes of its frozen part: what the features depend on besides data and preprocessing."""
    return f"{type(_base(model)).__name__}:{weights_fingerprint(frozen_part(model)[0])}"


def _ftfy_version() -> str | None:
    from memekit.processing.processing_meme import FTFY_AVAILABLE

    if not FTFY_AVAILABLE:
        return None
    from importlib.metadata import version

    return version("ftfy")


def cache_key(dataset_fingerprint: str, model_hash: str, processor, feature_dtype: str) -> str:
    vocabulary = json.dumps(processor.tokenizer.get_vocab(), sort_keys=True).encode()
    description = {
        "dataset": dataset_fingerprint,
        "model": model_hash,
        "processor": processor.to_dict(),
        "tokenizer": hashlib.sha256(vocabulary).hexdigest(),
        "feature_dtype": feature_dtype,
        # The text cleaning depends on whether ftfy is installed (and its version); 2: images from bytes, no EXIF.
        "ftfy": _ftfy_version(),
        "version": 2,
    }
    return hashlib.sha256(json.dumps(description, sort_keys=True, default=str).encode()).hexdigest()[:32]


@torch.no_grad()
def _extract(model, processor, rows, batch_size: int, feature_dtype: str, show_progress: bool, device) -> dict:
    base = _base(model)
    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16) if feature_dtype == "bfloat16" else nullcontext()
    )
    parts: dict[str, list[torch.Tensor]] = {}
    for start in tqdm(range(0, len(rows), batch_size), desc="CLIP features", disable=not show_progress):
        batch = rows[start : start + batch_size]
        inputs = processor(images=batch["image"], text=batch["text"], return_tensors="pt").to(device)
        with autocast:
            for key, value in _frozen_outputs(base, inputs).items():
                parts.setdefault(key, []).append(value.float().cpu())
    return {key: torch.cat(values) for key, values in parts.items()}


def cached_features(
    model: torch.nn.Module,
    processor,
    split,
    split_name: str,
    accelerator,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    feature_dtype: str = "float32",
    fingerprint: str | None = None,
) -> dict[str, torch.Tensor]:
    """
    The outputs of the model's frozen part for every row of `split` (a `datasets.Dataset`, in row order), from the
    cache or computed and cached: `image_embeds` and `text_embeds` (MemeCLIP, CDGLT), or `teacher_image_embeds` and
    `teacher_text_embeds` (CLFA).

    Args:
        model: a memekit model (or its PEFT wrapper) whose frozen part (`frozen_part`) is frozen.
        processor: the model's processor.
        split: the rows, with `image` and `text` columns.
        split_name: used in the file name only.
        accelerator: an `accelerate.Accelerator`; under several processes the extraction is shared between them.
        cache_dir: defaults to `default_cache_dir()`.
        batch_size: memes per CLIP forward pass.
        feature_dtype: "float32" (exact) or "bfloat16" (autocast; faster on CPUs and GPUs with bf16 units).
        fingerprint: `model_fingerprint(model)`, when the caller has it already (hashing a large CLIP takes seconds).
    """
    if feature_dtype not in FEATURE_DTYPES:
        raise ValueError(f"`feature_dtype` must be one of {sorted(FEATURE_DTYPES)}, got {feature_dtype!r}.")
    if not can_cache_features(model):
        raise ValueError("The model's CLIP is trained (or it has none): its features cannot be cached.")
    key = cache_key(split._fingerprint, fingerprint or model_fingerprint(model), processor, feature_dtype)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / key / f"{split_name}.safetensors"
    if path.is_file():
        logger.info("Feature cache hit for %s: %s", split_name, path)
        return load_file(path)

    logger.info("Extracting CLIP features of %s (%d memes) into %s", split_name, len(split), path)
    indices = list(range(len(split)))
    with accelerator.split_between_processes(indices) as shard:
        rows = split.select(shard) if shard else split.select([])
        local = (
            _extract(
                model, processor, rows, batch_size, feature_dtype, accelerator.is_main_process, accelerator.device
            )
            if len(rows)
            else None
        )
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        shares = gather_object([local])  # in process order: the shards are consecutive slices of the split
        present = [share for share in shares if share is not None]
        features = {key: torch.cat([share[key] for share in present]) for key in present[0]}
    else:
        features = local
    if accelerator.is_main_process:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        save_file({key: value.contiguous() for key, value in features.items()}, temporary)
        temporary.replace(path)
    accelerator.wait_for_everyone()
    return features
