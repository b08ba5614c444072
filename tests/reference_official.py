"""Independent reference implementations used as ground truth by the conversion tests.

- `OpenAICLIP`: OpenAI's CLIP ViT architecture written from its description, with the parameter names of OpenAI's
  state dicts (`visual.conv1.weight`, `transformer.resblocks.0.attn.in_proj_weight`, ...), so a random instance yields
  a state dict in the official layout.
- `official_memeclip_features` / `official_memeclip_logits`: the official MemeCLIP feature extraction and head, written
  functionally over the official state-dict keys (no memekit code involved).
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, width: int, causal: bool):
        super().__init__()
        self.causal = causal
        self.attn = nn.MultiheadAttention(width, width // 64, batch_first=True)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [("c_fc", nn.Linear(width, 4 * width)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(4 * width, width))]
            )
        )
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = None
        if self.causal:
            length = x.shape[1]
            mask = torch.full((length, length), float("-inf")).triu(1)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, causal: bool):
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(width, causal) for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resblocks(x)


class Visual(nn.Module):
    def __init__(self, resolution: int, patch: int, width: int, layers: int, embed_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width**-0.5)
        self.positional_embedding = nn.Parameter(torch.randn((resolution // patch) ** 2 + 1, width) * width**-0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, causal=False)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed_dim) * width**-0.5)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.conv1(pixels).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0]) @ self.proj


class OpenAICLIP(nn.Module):
    def __init__(
        self,
        embed_dim: int = 32,
        resolution: int = 32,
        patch: int = 8,
        vision_width: int = 64,
        vision_layers: int = 2,
        vocab_size: int = 514,
        context_length: int = 77,
        width: int = 64,
        layers: int = 2,
    ):
        super().__init__()
        self.visual = Visual(resolution, patch, vision_width, vision_layers, embed_dim)
        self.transformer = Transformer(width, layers, causal=True)
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.randn(context_length, width) * 0.01)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.randn(width, embed_dim) * width**-0.5)
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))
        # Random LayerNorm affine parameters, so that a wrong LayerNorm mapping cannot go unnoticed.
        for module in self.modules():
            if isinstance(module, nn.LayerNorm):
                nn.init.normal_(module.weight, 1.0, 0.2)
                nn.init.normal_(module.bias, 0.0, 0.2)

    def text_features(self, token_ids: torch.Tensor) -> torch.Tensor:
        """The final-LayerNorm state at `argmax(token_ids)` (the end token), without the text projection."""
        x = self.token_embedding(token_ids) + self.positional_embedding[: token_ids.shape[1]]
        x = self.ln_final(self.transformer(x))
        return x[torch.arange(x.shape[0]), token_ids.argmax(dim=-1)]

    def encode_text(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.text_features(token_ids) @ self.text_projection


def random_official_head(embed_dim: int, text_width: int, map_dim: int, num_labels: int) -> dict[str, torch.Tensor]:
    """Head tensors under the official MemeCLIP key names (random values)."""
    generator = torch.Generator().manual_seed(1)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * shape[-1] ** -0.5

    return {
        "image_map.proj.0.weight": rand(map_dim, embed_dim),
        "image_map.proj.0.bias": rand(map_dim),
        "text_map.proj.0.weight": rand(map_dim, text_width),
        "text_map.proj.0.bias": rand(map_dim),
        "img_adapter.fc.0.weight": rand(map_dim // 4, map_dim),
        "img_adapter.fc.2.weight": rand(map_dim, map_dim // 4),
        "text_adapter.fc.0.weight": rand(map_dim // 4, map_dim),
        "text_adapter.fc.2.weight": rand(map_dim, map_dim // 4),
        "pre_output.1.weight": rand(map_dim, map_dim),
        "pre_output.1.bias": rand(map_dim),
        "classifier.weight": rand(num_labels, map_dim),
    }


@torch.no_grad()
def official_memeclip_features(clip: OpenAICLIP, pixels: torch.Tensor, token_ids: torch.Tensor):
    """Image: projected CLIP embedding. Text: unprojected final-LayerNorm end-token state (the official collator)."""
    return clip.visual(pixels), clip.text_features(token_ids)


@torch.no_grad()
def official_memeclip_logits(head: dict[str, torch.Tensor], image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """The official head in eval mode: ratio 0.2, element-wise fusion, cosine classifier with scale 30."""

    def linear(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, head[f"{name}.weight"], head.get(f"{name}.bias"))

    def branch(x: torch.Tensor, projection: str, adapter: str) -> torch.Tensor:
        projected = linear(x, projection)
        adapted = F.relu(linear(F.relu(linear(projected, f"{adapter}.0")), f"{adapter}.2"))
        mixed = 0.2 * adapted + 0.8 * projected
        return mixed / mixed.norm(dim=-1, keepdim=True)

    fused = branch(image, "image_map.proj.0", "img_adapter.fc") * branch(text, "text_map.proj.0", "text_adapter.fc")
    hidden = F.relu(linear(fused, "pre_output.1"))
    return 30 * F.normalize(hidden, dim=-1) @ F.normalize(head["classifier.weight"], dim=-1).t()


def official_token_ids(tokenizer, texts: list[str], context_length: int = 77) -> torch.Tensor:
    """Token ids as OpenAI's `clip.tokenize(..., truncate=True)` lays them out: padded with 0 to the context length,
    the end token forced into the last slot on overflow."""
    rows = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids = [tokenizer.bos_token_id] + ids + [tokenizer.eos_token_id]
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = tokenizer.eos_token_id
        rows.append(ids + [0] * (context_length - len(ids)))
    return torch.tensor(rows)


def random_official_cdglt(
    gpt2, feature_dim: int, num_labels: int, concept_drift: bool = True, prompt_length: int = 10
):
    """A state dict in the official CDGLT (`Meteor`) layout: `gpt2_model.*` plus the heads, random values."""
    generator = torch.Generator().manual_seed(2)
    hidden = gpt2.config.n_embd
    num_features = 3 if concept_drift else 2

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator) * shape[-1] ** -0.5

    state_dict = {f"gpt2_model.{key}": value.clone() for key, value in gpt2.state_dict().items()}
    state_dict.update(
        {
            "adapter.0.weight": rand(feature_dim, num_features * feature_dim),
            "adapter.0.bias": rand(feature_dim),
            "feature_projection.weight": rand(hidden, feature_dim),
            "feature_projection.bias": rand(hidden),
            "prompt_embedding": rand(prompt_length, hidden),
            "scale": torch.tensor(0.7),
            "classifier.weight": rand(num_labels, hidden),
            "classifier.bias": rand(num_labels),
        }
    )
    return state_dict


@torch.no_grad()
def official_cdglt_logits(state_dict, gpt2, image: torch.Tensor, text: torch.Tensor, alpha: float = 0.8):
    """The official CDGLT forward in eval mode, from its state dict and its GPT-2 (already holding `gpt2_model.*`)."""
    concept_drift = state_dict["adapter.0.weight"].shape[1] == 3 * image.shape[-1]
    if concept_drift:
        i = image / image.norm(dim=-1, keepdim=True)
        t = text / text.norm(dim=-1, keepdim=True)
        omega = torch.acos(F.cosine_similarity(i, t, dim=-1)).unsqueeze(-1) + 1e-6
        drift = (torch.sin((1 - alpha) * omega) * i + torch.sin(alpha * omega) * t) / torch.sin(omega)
        features = torch.cat([image, drift, text], dim=-1)
    else:
        features = torch.cat([image, text], dim=-1)
    hidden = F.gelu(F.linear(features, state_dict["adapter.0.weight"], state_dict["adapter.0.bias"]))
    fused = F.linear(hidden, state_dict["feature_projection.weight"], state_dict["feature_projection.bias"])
    prompt = state_dict["prompt_embedding"].expand(image.shape[0], -1, -1)
    states = gpt2(inputs_embeds=torch.cat([prompt, fused[:, None]], dim=1)).last_hidden_state
    gate = torch.sigmoid(state_dict["scale"])
    pooled = gate * states[:, -1] + (1 - gate) * states[:, -2]
    return F.linear(pooled, state_dict["classifier.weight"], state_dict["classifier.bias"])
