import inspect
import math

import pytest
import torch
from helpers import random_image
from transformers import AutoModel, CLIPModel, GPT2Config, GPT2Model

from memekit import CDGLTConfig, CDGLTForClassification
from memekit.modeling.cdglt import modeling_cdglt, slerp
from memekit.modeling.clfa import modeling_clfa
from memekit.modeling.memeclip import modeling_memeclip
from memekit.tiny import tiny_cdglt, tiny_clip_config, tiny_clip_tokenizer, tiny_gpt2_config


LABELS = ["literal", "metaphorical"]
TEXTS = ["a metaphor about the weather", None, "plain words", "None"]


@pytest.fixture
def cdglt():
    return tiny_cdglt(LABELS, seed=0)


@pytest.fixture
def inputs(cdglt):
    _, processor = cdglt
    return processor(images=[random_image(seed, size=(40, 52)) for seed in range(4)], text=TEXTS)


def test_forward_shapes_and_loss_only_with_labels(cdglt, inputs):
    model, _ = cdglt
    output = model(**inputs)
    assert output.loss is None
    assert output.logits.shape == (4, 2)
    assert output.image_embeds.shape == output.text_embeds.shape == output.drift_embeds.shape == (4, 24)
    assert output.fused_embeds.shape == output.pooled_embeds.shape == (4, 32)
    labels = torch.tensor([1, 0, 0, 1])
    loss = model(**inputs, labels=labels).loss
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(output.logits, labels))


def test_embeddings_are_clip_projected_features(cdglt, inputs):
    model, _ = cdglt
    output = model(**inputs)
    clip = model.clip
    with torch.no_grad():
        expected_image = clip.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        expected_text = clip.get_text_features(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
        ).pooler_output
    torch.testing.assert_close(output.image_embeds, expected_image)
    torch.testing.assert_close(output.text_embeds, expected_text)


def test_cached_embeddings_give_the_same_logits(cdglt, inputs):
    model, _ = cdglt
    raw = model(**inputs)
    cached = model(image_embeds=raw.image_embeds, text_embeds=raw.text_embeds)
    torch.testing.assert_close(cached.logits, raw.logits, rtol=0, atol=0)


def test_either_raw_or_cached_inputs(cdglt):
    model, _ = cdglt
    with pytest.raises(ValueError, match="pixel_values.*neither"):
        model(text_embeds=torch.zeros(1, 24))
    with pytest.raises(ValueError, match="input_ids.*both"):
        model(
            image_embeds=torch.zeros(1, 24),
            input_ids=torch.zeros(1, 3, dtype=torch.long),
            text_embeds=torch.zeros(1, 24),
        )


def test_slerp_closed_form():
    generator = torch.Generator().manual_seed(0)
    image, text = torch.randn(5, 24, generator=generator) * 7, torch.randn(5, 24, generator=generator) * 3
    unit_image, unit_text = image / image.norm(dim=-1, keepdim=True), text / text.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(slerp(image, text, 0.0), unit_image)
    torch.testing.assert_close(slerp(image, text, 1.0), unit_text)
    for alpha in (0.2, 0.5, 0.8):
        torch.testing.assert_close(slerp(image, text, alpha).norm(dim=-1), torch.ones(5), rtol=0, atol=1e-5)
    # Orthogonal unit vectors: the drift is (sin(0.1 pi), sin(0.4 pi)) in their plane.
    i, t = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 2.0, 0.0]])
    expected = torch.tensor([[math.sin(0.1 * math.pi), math.sin(0.4 * math.pi), 0.0]])
    torch.testing.assert_close(slerp(i, t, 0.8), expected, rtol=0, atol=1e-5)
    # Identical directions stay finite (the epsilon is added to the angle).
    same = slerp(image, image * 2, 0.8)
    assert torch.isfinite(same).all()
    torch.testing.assert_close(same, unit_image, rtol=0, atol=1e-5)


def test_no_drift_ablation_fuses_image_and_text_only():
    model, processor = tiny_cdglt(LABELS, use_concept_drift=False)
    assert model.adapter[0].in_features == 2 * 24
    output = model(image_embeds=torch.randn(2, 24), text_embeds=torch.randn(2, 24))
    assert output.drift_embeds is None and output.logits.shape == (2, 2)


def test_second_to_last_state_is_sample_independent(cdglt, inputs):
    model, _ = cdglt
    with torch.no_grad():
        model.gate.weight.fill_(-60.0)  # sigmoid -> 0: the readout is the second-to-last state alone
    pooled = model(**inputs).pooled_embeds
    for row in pooled[1:]:
        torch.testing.assert_close(row, pooled[0], rtol=0, atol=1e-6)
    with torch.no_grad():
        model.gate.weight.fill_(60.0)  # the last state sees the meme
    assert not torch.allclose(model(**inputs).pooled_embeds[0], model(**inputs).pooled_embeds[1])


def test_heads_use_pytorch_default_initialisation(cdglt):
    model, _ = cdglt
    assert model.gate.weight.item() == 0.0
    prompt_bound = math.sqrt(6 / (10 + 32))  # Xavier-uniform on (prompt_length, n_embd)
    assert model.prompt_embedding.abs().max() <= prompt_bound
    assert model.prompt_embedding.std() > prompt_bound / 2
    for linear in (model.adapter[0], model.feature_projection, model.classifier):
        bound = 1 / math.sqrt(linear.in_features)  # kaiming-uniform with a = sqrt(5)
        assert linear.weight.abs().max() <= bound and linear.bias.abs().max() <= bound
        assert linear.weight.std() > bound / 2  # far wider than GPT-2's normal(0.02) for these widths


def test_backbones_are_frozen_and_stay_frozen_after_loading(cdglt, tmp_path):
    model, _ = cdglt
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {
        "adapter.0.weight",
        "adapter.0.bias",
        "feature_projection.weight",
        "feature_projection.bias",
        "gate.weight",
        "classifier.weight",
        "classifier.bias",
    }
    model.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path)
    assert type(reloaded) is CDGLTForClassification
    assert {name for name, p in reloaded.named_parameters() if p.requires_grad} == trainable


def test_save_and_load_keeps_logits_and_the_frozen_prompt(cdglt, inputs, tmp_path):
    model, _ = cdglt
    model.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path)
    torch.testing.assert_close(reloaded.prompt_embedding, model.prompt_embedding, rtol=0, atol=0)
    torch.testing.assert_close(reloaded(**inputs).logits, model(**inputs).logits, rtol=0, atol=0)


def test_from_pretrained_backbones(tmp_path):
    clip = CLIPModel(tiny_clip_config())
    gpt2 = GPT2Model(tiny_gpt2_config())
    clip.save_pretrained(tmp_path / "clip")
    gpt2.save_pretrained(tmp_path / "gpt2")
    tiny_clip_tokenizer().save_pretrained(tmp_path / "clip")
    model = CDGLTForClassification.from_pretrained_backbones(tmp_path / "clip", tmp_path / "gpt2", labels=LABELS)
    assert model.config.id2label == {0: "literal", 1: "metaphorical"}
    for name, tensor in gpt2.state_dict().items():
        torch.testing.assert_close(model.gpt2.state_dict()[name], tensor, rtol=0, atol=0)
    torch.testing.assert_close(model.clip.visual_projection.weight, clip.visual_projection.weight, rtol=0, atol=0)
    assert not any(p.requires_grad for p in [*model.clip.parameters(), *model.gpt2.parameters()])
    with pytest.raises(ValueError, match="labels"):
        CDGLTForClassification.from_pretrained_backbones(tmp_path / "clip", tmp_path / "gpt2", labels=["a", "a"])


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"slerp_alpha": 1.2}, "slerp_alpha"),
        ({"prompt_length": 0}, "prompt_length"),
        ({"prompt_length": 40}, "n_positions"),
        ({"slerp_epsilon": -1.0}, "slerp_epsilon"),
    ],
)
def test_invalid_config_values_are_rejected(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        CDGLTConfig(clip_config=tiny_clip_config(), gpt2_config=tiny_gpt2_config(), **kwargs)


def test_config_round_trip(tmp_path):
    config = CDGLTConfig(
        clip_config=tiny_clip_config(), gpt2_config=tiny_gpt2_config(), slerp_alpha=0.6, id2label={0: "a", 1: "b"}
    )
    config.save_pretrained(tmp_path)
    reloaded = CDGLTConfig.from_pretrained(tmp_path)
    assert isinstance(reloaded.gpt2_config, GPT2Config)
    assert (reloaded.slerp_alpha, reloaded.gpt2_config.n_layer, reloaded.clip_config.projection_dim) == (0.6, 2, 24)
    with pytest.raises(TypeError, match="gpt2_config"):
        CDGLTConfig(gpt2_config="openai-community/gpt2")


def test_predict(cdglt):
    model, processor = cdglt
    predictions = model.predict([random_image(0), random_image(1)], ["a", None], processor=processor)
    assert [set(p["probabilities"]) for p in predictions] == [set(LABELS)] * 2


@pytest.mark.parametrize("name", ["_exactly_one", "_predict", "_load_processor"])
def test_copied_helpers_match_their_source(name):
    source = inspect.getsource(getattr(modeling_memeclip, name))
    assert inspect.getsource(getattr(modeling_cdglt, name)) == source
    if name != "_exactly_one":  # CLFA has no cached-feature path, hence no `_exactly_one`
        assert inspect.getsource(getattr(modeling_clfa, name)) == source
