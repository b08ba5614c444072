import pytest
from transformers import AutoConfig, CLIPConfig

from memekit import MemeCLIPConfig
from memekit.tiny import tiny_clip_config


def test_defaults_follow_the_official_code():
    config = MemeCLIPConfig(clip_config=tiny_clip_config())
    assert config.map_dim == 32  # the CLIP vision width
    assert config.image_embed_dim == 24  # CLIP's projection width
    assert config.text_embed_dim == 32  # CLIP's text width
    assert config.residual_ratio == 0.2
    assert config.dropout_probs == [0.1, 0.4, 0.2]
    assert config.logit_scale == 30.0
    assert config.adapter_reduction == 4
    assert config.prompt_template == "a photo of a {}."


def test_round_trip_through_save_pretrained(tmp_path):
    config = MemeCLIPConfig(
        clip_config=tiny_clip_config(),
        residual_ratio=0.3,
        num_pre_output_layers=2,
        id2label={0: "Neutral", 1: "Support", 2: "Oppose"},
    )
    config.save_pretrained(tmp_path)
    reloaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(reloaded, MemeCLIPConfig)
    assert isinstance(reloaded.clip_config, CLIPConfig)
    saved, loaded = config.to_dict(), reloaded.to_dict()
    saved.pop("_name_or_path"), loaded.pop("_name_or_path")
    assert loaded == saved
    assert reloaded.id2label == {0: "Neutral", 1: "Support", 2: "Oppose"}
    assert reloaded.clip_config.vision_config.patch_size == 8


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("residual_ratio", 1.5, "residual_ratio"),
        ("dropout_probs", [0.1, 0.4], "dropout_probs"),
        ("dropout_probs", [0.1, 1.0, 0.2], "dropout_probs"),
        ("map_dim", 0, "map_dim"),
        ("num_mapping_layers", 1.5, "num_mapping_layers"),
        ("adapter_reduction", 64, "adapter_reduction"),
        ("logit_scale", 0.0, "logit_scale"),
        ("prompt_template", "a photo", "prompt_template"),
    ],
)
def test_invalid_values_are_rejected(field, value, fragment):
    with pytest.raises(ValueError, match=fragment):
        MemeCLIPConfig(clip_config=tiny_clip_config(), **{field: value})


def test_clip_config_of_wrong_type_is_rejected():
    with pytest.raises(TypeError, match="clip_config"):
        MemeCLIPConfig(clip_config="openai/clip-vit-large-patch14")
