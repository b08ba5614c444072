"""OpenAI CLIP (the `clip` package's ViT models) -> transformers `CLIPModel`.

Shapes are inferred from the tensors the way OpenAI's `build_model` does (attention heads = width // 64), and the key
mapping is the standard one: fused `in_proj` attention weights are split into q/k/v, projection matrices are
transposed into `nn.Linear` weights.
"""

import logging
import re
import zipfile
from pathlib import Path

import torch
from transformers import CLIPConfig, CLIPModel


logger = logging.getLogger(__name__)

# Entries of OpenAI's JIT archives that are not weights.
_NON_WEIGHT_KEYS = ("input_resolution", "context_length", "vocab_size")

_LAYER_RENAMES = {
    "attn.out_proj": "self_attn.out_proj",
    "ln_1": "layer_norm1",
    "ln_2": "layer_norm2",
    "mlp.c_fc": "mlp.fc1",
    "mlp.c_proj": "mlp.fc2",
}


def load_openai_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read an OpenAI-format CLIP file: a plain state dict (`torch.save`) or an OpenAI TorchScript archive."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"OpenAI CLIP file not found: {str(path)!r}.")
    if _is_torchscript_archive(path):
        # OpenAI's released `.pt` files are TorchScript archives; loading one runs its TorchScript code, as `clip.load`
        # does.
        state_dict = torch.jit.load(path, map_location="cpu").state_dict()
    else:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state_dict, dict) or "visual.conv1.weight" not in state_dict:
        raise ValueError(
            f"{str(path)!r} is not an OpenAI CLIP ViT state dict (no `visual.conv1.weight`); pass a `.pt` file of "
            "the `clip` package or a transformers CLIP folder / Hub id."
        )
    return {key: value for key, value in state_dict.items() if key not in _NON_WEIGHT_KEYS}


def _is_torchscript_archive(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def _count_layers(state_dict: dict[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(rf"^{re.escape(prefix)}resblocks\.(\d+)\.")
    indices = {int(match.group(1)) for key in state_dict if (match := pattern.match(key))}
    return len(indices)


def openai_clip_config(state_dict: dict[str, torch.Tensor]) -> CLIPConfig:
    """The `CLIPConfig` of an OpenAI CLIP ViT state dict, inferred from tensor shapes as `clip.build_model` does."""
    if "visual.proj" not in state_dict:
        raise ValueError("The OpenAI CLIP state dict has no `visual.proj`; its projection width cannot be inferred.")
    vision_width, _, patch_size, _ = state_dict["visual.conv1.weight"].shape
    grid = round((state_dict["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    vocab_size, text_width = state_dict["token_embedding.weight"].shape
    text_config = {
        "vocab_size": vocab_size,
        "hidden_size": text_width,
        "intermediate_size": state_dict["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        "num_hidden_layers": _count_layers(state_dict, "transformer."),
        "num_attention_heads": text_width // 64,
        "max_position_embeddings": state_dict["positional_embedding"].shape[0],
        "hidden_act": "quick_gelu",
        # OpenAI's vocabulary ends with <|startoftext|>, <|endoftext|>. With the end token as the last id, pooling
        # at its first occurrence (transformers) is the same position as the original's `argmax(token_ids)`.
        "bos_token_id": vocab_size - 2,
        "eos_token_id": vocab_size - 1,
        "pad_token_id": vocab_size - 1,
    }
    vision_config = {
        "hidden_size": vision_width,
        "intermediate_size": state_dict["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        "num_hidden_layers": _count_layers(state_dict, "visual.transformer."),
        "num_attention_heads": vision_width // 64,
        "image_size": patch_size * grid,
        "patch_size": patch_size,
        "hidden_act": "quick_gelu",
    }
    return CLIPConfig(
        text_config=text_config,
        vision_config=vision_config,
        projection_dim=state_dict["visual.proj"].shape[1],
    )


def _convert_layers(state_dict: dict[str, torch.Tensor], source: str, target: str) -> dict[str, torch.Tensor]:
    converted = {}
    pattern = re.compile(rf"^{re.escape(source)}resblocks\.(\d+)\.(.+)\.(weight|bias)$")
    for key, value in state_dict.items():
        # nn.MultiheadAttention names its fused projection `in_proj_weight`/`in_proj_bias`.
        match = pattern.match(key.replace(".attn.in_proj_", ".attn.in_proj."))
        if not match:
            continue
        layer, module, kind = match.groups()
        prefix = f"{target}encoder.layers.{layer}."
        if module == "attn.in_proj":
            for name, chunk in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                converted[f"{prefix}self_attn.{name}.{kind}"] = chunk.clone()
        elif module in _LAYER_RENAMES:
            converted[f"{prefix}{_LAYER_RENAMES[module]}.{kind}"] = value
        else:
            raise ValueError(f"Unexpected OpenAI CLIP key {key!r}.")
    return converted


def openai_to_hf_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and split/transpose where needed) OpenAI CLIP weights into `CLIPModel` keys.

    `visual.proj` may be absent (the official MemeCLIP checkpoint deletes it); `visual_projection.weight` is then left
    out of the result.
    """
    converted = {
        "text_model.embeddings.token_embedding.weight": state_dict["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": state_dict["positional_embedding"],
        "text_model.final_layer_norm.weight": state_dict["ln_final.weight"],
        "text_model.final_layer_norm.bias": state_dict["ln_final.bias"],
        "text_projection.weight": state_dict["text_projection"].t().contiguous(),
        "logit_scale": state_dict["logit_scale"].reshape(()),
        "vision_model.embeddings.class_embedding": state_dict["visual.class_embedding"],
        "vision_model.embeddings.patch_embedding.weight": state_dict["visual.conv1.weight"],
        "vision_model.embeddings.position_embedding.weight": state_dict["visual.positional_embedding"],
        "vision_model.pre_layrnorm.weight": state_dict["visual.ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": state_dict["visual.ln_pre.bias"],
        "vision_model.post_layernorm.weight": state_dict["visual.ln_post.weight"],
        "vision_model.post_layernorm.bias": state_dict["visual.ln_post.bias"],
    }
    if "visual.proj" in state_dict:
        converted["visual_projection.weight"] = state_dict["visual.proj"].t().contiguous()
    converted.update(_convert_layers(state_dict, "transformer.", "text_model."))
    converted.update(_convert_layers(state_dict, "visual.transformer.", "vision_model."))
    return {key: value.float() for key, value in converted.items()}


def clip_from_openai(state_dict: dict[str, torch.Tensor]) -> CLIPModel:
    """A transformers `CLIPModel` holding the weights of a complete OpenAI CLIP ViT state dict (fp32)."""
    model = CLIPModel(openai_clip_config(state_dict))
    missing, unexpected = model.load_state_dict(openai_to_hf_state_dict(state_dict), strict=False)
    missing = [key for key in missing if not key.endswith("position_ids")]
    if missing or unexpected:
        raise ValueError(
            f"OpenAI -> transformers CLIP conversion mismatch: missing {missing}, unexpected {unexpected}."
        )
    return model.eval()


def load_clip(source: str | Path) -> CLIPModel:
    """A `CLIPModel` from a Hub id or folder (transformers format) or from an OpenAI-format `.pt` file."""
    if Path(source).is_file():
        logger.info("Reading OpenAI-format CLIP weights from %s", source)
        return clip_from_openai(load_openai_state_dict(source))
    return CLIPModel.from_pretrained(source, dtype=torch.float32).eval()
