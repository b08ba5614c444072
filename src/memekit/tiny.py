"""Tiny, randomly initialised CLIP parts that need no download.

They back the test suite and `memekit demo`, and let anyone try the package's plumbing (saving, loading, predicting,
converting) on a laptop without Hub access. Nothing built here has learned anything: predictions are random.
"""

import torch
from transformers import (
    BertConfig,
    BertTokenizer,
    CLIPConfig,
    CLIPImageProcessorPil,
    CLIPTokenizer,
    GPT2Config,
    ViTConfig,
    ViTImageProcessorPil,
)

from memekit.modeling.cdglt.configuration_cdglt import CDGLTConfig
from memekit.modeling.cdglt.modeling_cdglt import CDGLTForClassification
from memekit.modeling.clfa.configuration_clfa import CLFAConfig
from memekit.modeling.clfa.modeling_clfa import CLFAForClassification
from memekit.modeling.memeclip.configuration_memeclip import MemeCLIPConfig
from memekit.modeling.memeclip.modeling_memeclip import MemeCLIPForClassification
from memekit.processing.processing_clfa import CLFAProcessor
from memekit.processing.processing_meme import PRESETS, MemeProcessor


START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"


def _byte_symbols() -> list[str]:
    """The 256 printable symbols byte-level BPE uses for the bytes 0..255 (GPT-2/CLIP convention)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    symbols, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + extra)
            extra += 1
    return [symbols[byte] for byte in range(256)]


def tiny_clip_tokenizer(model_max_length: int = 77) -> CLIPTokenizer:
    """A CLIP tokenizer with a 514-token byte vocabulary and no merges (every word is spelled out byte by byte).

    As in OpenAI's vocabulary, the start token is the second-to-last id and the end token the last one.
    """
    symbols = _byte_symbols()
    tokens = symbols + [symbol + "</w>" for symbol in symbols] + [START_TOKEN, END_TOKEN]
    vocab = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(
        vocab=vocab,
        merges=[],
        bos_token=START_TOKEN,
        eos_token=END_TOKEN,
        pad_token=END_TOKEN,
        unk_token=END_TOKEN,
        model_max_length=model_max_length,
    )


def tiny_clip_config(vocab_size: int = 514, **overrides) -> CLIPConfig:
    """A CLIP of a few thousand parameters (hidden 32, 2 layers, 32-pixel images in 8-pixel patches)."""
    text_config = {
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 77,
        "hidden_act": "quick_gelu",
        "bos_token_id": vocab_size - 2,
        "eos_token_id": vocab_size - 1,
        "pad_token_id": vocab_size - 1,
    }
    vision_config = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 8,
        "hidden_act": "quick_gelu",
    }
    text_config.update(overrides.pop("text_config", {}))
    vision_config.update(overrides.pop("vision_config", {}))
    overrides.setdefault("projection_dim", 24)
    return CLIPConfig(text_config=text_config, vision_config=vision_config, **overrides)


def tiny_gpt2_config(**overrides) -> GPT2Config:
    """A GPT-2 with 32-wide embeddings, 2 layers and 32 positions."""
    settings = {"n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 32, "vocab_size": 100}
    settings.update(overrides)
    return GPT2Config(bos_token_id=0, eos_token_id=0, **settings)


def tiny_image_processor(image_size: int = 32) -> CLIPImageProcessorPil:
    return CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )


def tiny_meme_processor(preset: str = "memeclip", **kwargs) -> MemeProcessor:
    """A processor over the tiny tokenizer and 32-pixel images, with a model's preset (`PRESETS`) and overrides."""
    settings = {**PRESETS[preset], **kwargs}
    return MemeProcessor(image_processor=tiny_image_processor(), tokenizer=tiny_clip_tokenizer(), **settings)


def tiny_memeclip(
    labels: list[str], seed: int = 0, **config_kwargs
) -> tuple[MemeCLIPForClassification, MemeProcessor]:
    """A tiny random MemeCLIP whose classifier is set by Semantic-Aware Initialisation, and its processor.

    The same `seed` gives the same weights.
    """
    processor = tiny_meme_processor()
    config = MemeCLIPConfig(
        clip_config=tiny_clip_config(),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **config_kwargs,
    )
    with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's random state
        torch.manual_seed(seed)
        model = MemeCLIPForClassification(config)
    model.initialize_classifier_from_text(processor.tokenizer)
    return model.eval(), processor


def tiny_cdglt(labels: list[str], seed: int = 0, **config_kwargs) -> tuple[CDGLTForClassification, MemeProcessor]:
    """A tiny random CDGLT (tiny CLIP, tiny GPT-2) and its processor. The same `seed` gives the same weights."""
    config = CDGLTConfig(
        clip_config=tiny_clip_config(),
        gpt2_config=tiny_gpt2_config(),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **config_kwargs,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CDGLTForClassification(config)
    return model.eval(), tiny_meme_processor(preset="cdglt")


def tiny_clfa(labels: list[str], seed: int = 0, **config_kwargs) -> tuple[CLFAForClassification, MemeProcessor]:
    """A tiny random CLFA whose students are (copies of the architecture of) the tiny CLIP teacher's towers, so one
    CLIP processor prepares the inputs of students and teacher. The same `seed` gives the same weights."""
    settings = {"num_fusion_layers": 2, "fusion_heads": 2, "fusion_intermediate_size": 48, **config_kwargs}
    config = CLFAConfig.clip_students(
        tiny_clip_config(),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **settings,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLFAForClassification(config)
    return model.eval(), tiny_meme_processor(preset="cdglt")


def tiny_bert_tokenizer() -> BertTokenizer:
    """A BERT tokenizer whose word pieces are single characters (lower-case letters, digits, punctuation)."""
    characters = list("abcdefghijklmnopqrstuvwxyz0123456789") + list(".,!?'-")
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *characters, *(f"##{c}" for c in characters)]
    return BertTokenizer(vocab={token: index for index, token in enumerate(tokens)})


def tiny_clfa_bert_vit(
    labels: list[str], seed: int = 0, **config_kwargs
) -> tuple[CLFAForClassification, CLFAProcessor]:
    """A tiny random CLFA as in the paper: BERT and ViT students (tiny), a tiny CLIP teacher; and its processor."""
    tokenizer = tiny_bert_tokenizer()
    text_config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=80,
    )  # fmt: skip
    vision_config = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    settings = {"num_fusion_layers": 2, "fusion_heads": 2, "fusion_intermediate_size": 48, **config_kwargs}
    config = CLFAConfig(
        text_config=text_config,
        vision_config=vision_config,
        teacher_config=tiny_clip_config(),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **settings,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLFAForClassification(config)
    processor = CLFAProcessor(
        image_processor=ViTImageProcessorPil(size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
        teacher_image_processor=tiny_image_processor(),
        teacher_tokenizer=tiny_clip_tokenizer(),
    )
    return model.eval(), processor
