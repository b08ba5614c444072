import math

import pytest
import torch
import torch.nn.functional as F
from helpers import run_fresh_python
from transformers import (
    BertConfig,
    BertModel,
    CLIPConfig,
    CLIPModel,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPVisionConfig,
    CLIPVisionModel,
    ViTConfig,
    ViTModel,
)

from memekit.modeling.clfa import CLFAConfig, CLFAForClassification, pool_tokens, symmetric_info_nce
from memekit.tiny import tiny_clip_config, tiny_clip_tokenizer


LABELS = ["not sarcastic", "sarcastic"]
TEACHER_TEXTS = ["when the build is green", "a b", "sarcasm, obviously", "cat"]
BATCH, TEXT_LENGTH, KNOWLEDGE_LENGTH, WIDTH = 4, 7, 5, 24


def tiny_bert_config(**overrides) -> BertConfig:
    settings = {"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
    settings.update(intermediate_size=37, max_position_embeddings=64, **overrides)
    return BertConfig(**settings)


def tiny_vit_config(**overrides) -> ViTConfig:
    settings = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37}
    settings.update(image_size=32, patch_size=8, **overrides)
    return ViTConfig(**settings)


def tiny_fusion_kwargs(**overrides) -> dict:
    settings = {"num_fusion_layers": 2, "fusion_heads": 2, "fusion_intermediate_size": 48}
    settings.update(overrides)
    return settings


def tiny_clfa_config(labels: list[str] = LABELS, dropout: float | None = None, **overrides) -> CLFAConfig:
    """Tiny BERT and ViT students, tiny CLIP teacher; `dropout` replaces the students' dropout probabilities."""
    student_dropout = (
        {} if dropout is None else {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}
    )
    return CLFAConfig(
        text_config=tiny_bert_config(**student_dropout),
        vision_config=tiny_vit_config(**student_dropout),
        teacher_config=tiny_clip_config(),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **tiny_fusion_kwargs(**overrides),
    )


def build(config: CLFAConfig, seed: int = 0) -> CLFAForClassification:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLFAForClassification(config)
    return model.eval()


def tiny_clfa(seed: int = 0, **overrides) -> CLFAForClassification:
    return build(tiny_clfa_config(**overrides), seed=seed)


def tiny_clip_students(seed: int = 0, **overrides) -> CLFAForClassification:
    return build(CLFAConfig.clip_students(tiny_clip_config(), **tiny_fusion_kwargs(**overrides)), seed)


def info_nce_by_hand(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    similarities = F.normalize(student, dim=-1) @ F.normalize(teacher, dim=-1).T / temperature
    rows = -torch.diagonal(similarities.log_softmax(dim=1)).mean()
    columns = -torch.diagonal(similarities.log_softmax(dim=0)).mean()
    return (rows + columns) / 2


@pytest.fixture
def inputs() -> dict:
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1, 100, (BATCH, TEXT_LENGTH), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 4:] = 0
    attention_mask[3, 2:] = 0
    teacher_text = tiny_clip_tokenizer()(TEACHER_TEXTS, padding=True, return_tensors="pt")
    return {
        "pixel_values": torch.randn(BATCH, 3, 32, 32, generator=generator),
        "input_ids": input_ids.masked_fill(attention_mask == 0, 0),
        "attention_mask": attention_mask,
        "teacher_pixel_values": torch.randn(BATCH, 3, 32, 32, generator=generator),
        "teacher_input_ids": teacher_text["input_ids"],
        "teacher_attention_mask": teacher_text["attention_mask"],
    }


@pytest.fixture
def knowledge() -> dict:
    generator = torch.Generator().manual_seed(1)
    knowledge_mask = torch.ones(BATCH, KNOWLEDGE_LENGTH, dtype=torch.long)
    knowledge_mask[2, 3:] = 0
    return {
        "knowledge_input_ids": torch.randint(1, 100, (BATCH, KNOWLEDGE_LENGTH), generator=generator),
        "knowledge_attention_mask": knowledge_mask,
    }


def student_inputs(inputs: dict) -> dict:
    return {key: value for key, value in inputs.items() if not key.startswith("teacher_")}


LABEL_IDS = torch.tensor([0, 1, 1, 0])


# ---------------------------------------------------------------------------------------------------- configuration
def test_default_config_follows_the_original():
    config = CLFAConfig()
    assert isinstance(config.text_config, BertConfig) and config.text_hidden_size == 768
    assert isinstance(config.vision_config, ViTConfig)
    assert (config.vision_config.patch_size, config.vision_config.image_size, config.vision_hidden_size) == (
        32,
        224,
        768,
    )
    assert isinstance(config.teacher_config, CLIPConfig) and config.teacher_config.projection_dim == 512
    assert config.projection_dim == 512
    assert config.text_projection_hidden_dim == config.image_projection_hidden_dim == 1536
    assert (config.num_fusion_layers, config.fusion_heads, config.fusion_intermediate_size) == (3, 8, 2048)
    assert (config.fusion_dropout, config.classifier_dropout, config.pooling) == (0.1, 0.1, "mean")
    assert (config.alpha, config.beta, config.temperature) == (1.0, 1.0, 0.1)
    assert config.use_teacher and not config.use_knowledge and config.num_labels == 2


def test_config_round_trip(tmp_path):
    config = tiny_clfa_config(pooling="max", use_knowledge=True, alpha=0.5, temperature=0.07, projection_hidden_dim=40)
    config.save_pretrained(tmp_path)
    reloaded = CLFAConfig.from_pretrained(tmp_path)
    assert reloaded.to_dict() == config.to_dict()
    assert isinstance(reloaded.text_config, BertConfig) and isinstance(reloaded.vision_config, ViTConfig)
    assert isinstance(reloaded.teacher_config, CLIPConfig)
    assert (reloaded.pooling, reloaded.use_knowledge, reloaded.temperature) == ("max", True, 0.07)
    assert reloaded.text_projection_hidden_dim == reloaded.image_projection_hidden_dim == 40
    assert reloaded.id2label == {0: "not sarcastic", 1: "sarcastic"}


def test_clip_students_config_uses_the_teacher_towers(tmp_path):
    clip_config = tiny_clip_config()
    config = CLFAConfig.clip_students(clip_config, num_labels=3, **tiny_fusion_kwargs())
    assert isinstance(config.text_config, CLIPTextConfig) and isinstance(config.vision_config, CLIPVisionConfig)
    assert config.text_config.to_dict() == clip_config.text_config.to_dict()
    assert config.vision_config.to_dict() == clip_config.vision_config.to_dict()
    assert config.teacher_config is clip_config and config.text_config is not clip_config.text_config
    config.save_pretrained(tmp_path)
    reloaded = CLFAConfig.from_pretrained(tmp_path)
    assert isinstance(reloaded.text_config, CLIPTextConfig) and isinstance(reloaded.vision_config, CLIPVisionConfig)
    assert reloaded.to_dict() == config.to_dict() and reloaded.num_labels == 3


def test_sub_configs_from_dicts():
    config = CLFAConfig(
        text_config=tiny_bert_config().to_dict(),
        vision_config=tiny_vit_config().to_dict(),
        teacher_config=tiny_clip_config().to_dict(),
        **tiny_fusion_kwargs(),
    )
    assert isinstance(config.text_config, BertConfig) and config.text_config.hidden_size == 32
    assert isinstance(config.vision_config, ViTConfig) and config.vision_config.patch_size == 8
    assert config.teacher_config.projection_dim == WIDTH
    with pytest.raises(ValueError, match="text_config.*model_type"):
        CLFAConfig(text_config={"hidden_size": 32})
    with pytest.raises(TypeError, match="vision_config"):
        CLFAConfig(vision_config="vit")
    with pytest.raises(TypeError, match="teacher_config"):
        CLFAConfig(teacher_config=tiny_bert_config())


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"pooling": "sum"}, "pooling"),
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": math.inf}, "temperature"),
        ({"alpha": -1.0}, "alpha"),
        ({"beta": math.nan}, "beta"),
        ({"fusion_heads": 5}, "projection_dim.*fusion_heads"),
        ({"projection_dim": 16}, "projection_dim.*teacher"),
        ({"num_fusion_layers": 0}, "num_fusion_layers"),
        ({"fusion_intermediate_size": 2.5}, "fusion_intermediate_size"),
        ({"projection_hidden_dim": 0}, "projection_hidden_dim"),
        ({"fusion_dropout": 1.0}, "fusion_dropout"),
        ({"classifier_dropout": -0.1}, "classifier_dropout"),
        ({"use_teacher": "yes"}, "use_teacher"),
        ({"use_knowledge": 1}, "use_knowledge"),
    ],
)
def test_config_rejects_invalid_values(overrides, fragment):
    with pytest.raises(ValueError, match=fragment):
        tiny_clfa_config(**overrides)


# ------------------------------------------------------------------------------------------------------ forward
def test_forward_shapes_and_loss_only_with_labels(inputs):
    model = tiny_clfa()
    output = model(**inputs)
    assert output.loss is None and output.alignment_loss is None and output.classification_loss is None
    assert output.teacher_image_embeds is None and output.teacher_text_embeds is None
    assert output.logits.shape == (BATCH, 2)
    assert output.image_embeds.shape == output.text_embeds.shape == output.fused_embeds.shape == (BATCH, WIDTH)
    torch.testing.assert_close(output.image_embeds.norm(dim=-1), torch.ones(BATCH))
    torch.testing.assert_close(output.text_embeds.norm(dim=-1), torch.ones(BATCH))

    with_labels = model(**inputs, labels=LABEL_IDS)
    torch.testing.assert_close(with_labels.logits, output.logits, rtol=0, atol=0)
    assert with_labels.loss.shape == with_labels.alignment_loss.shape == ()


def test_student_embeds_are_mean_pooled_projected_tokens(inputs):
    model = tiny_clfa()
    output = model(**inputs)
    with torch.no_grad():
        text_states = model.text_encoder(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
        ).last_hidden_state
        text_tokens = model.text_projection(text_states)
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        expected_text = F.normalize((text_tokens * mask).sum(1) / mask.sum(1), dim=-1)
        image_states = model.vision_encoder(pixel_values=inputs["pixel_values"]).last_hidden_state
        assert image_states.shape[1] == 1 + (32 // 8) ** 2  # CLS + patches, all of them
        expected_image = F.normalize(model.image_projection(image_states).mean(dim=1), dim=-1)
    torch.testing.assert_close(output.text_embeds, expected_text)
    torch.testing.assert_close(output.image_embeds, expected_image)


@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.7, 1.3)])
def test_loss_is_alpha_alignment_plus_beta_cross_entropy(inputs, alpha, beta):
    model = tiny_clfa(alpha=alpha, beta=beta, temperature=0.1)
    output = model(**inputs, labels=LABEL_IDS)
    with torch.no_grad():  # the teacher's embeddings straight from CLIP's own forward
        clip_output = model.teacher(
            pixel_values=inputs["teacher_pixel_values"],
            input_ids=inputs["teacher_input_ids"],
            attention_mask=inputs["teacher_attention_mask"],
        )
    torch.testing.assert_close(output.teacher_image_embeds, clip_output.image_embeds)
    torch.testing.assert_close(output.teacher_text_embeds, clip_output.text_embeds)

    image_term = info_nce_by_hand(output.image_embeds, clip_output.image_embeds, 0.1)
    text_term = info_nce_by_hand(output.text_embeds, clip_output.text_embeds, 0.1)
    cross_entropy = F.cross_entropy(output.logits, LABEL_IDS)
    torch.testing.assert_close(output.alignment_loss, image_term + text_term)
    torch.testing.assert_close(output.classification_loss, cross_entropy)
    torch.testing.assert_close(output.loss, alpha * (image_term + text_term) + beta * cross_entropy)


def test_symmetric_info_nce_hand_computed_value():
    vectors = torch.eye(3) * 5  # normalised: cosine 1 on the diagonal, 0 elsewhere
    expected = math.log(math.e + 2) - 1  # -log(e / (e + 1 + 1)) for every row and every column
    torch.testing.assert_close(symmetric_info_nce(vectors, torch.eye(3), 1.0), torch.tensor(expected))
    assert symmetric_info_nce(torch.randn(1, 4), torch.randn(1, 4), 0.1).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        symmetric_info_nce(torch.randn(2, 4), torch.randn(3, 4), 0.1)


def test_alpha_zero_leaves_the_alignment_out_of_the_loss(inputs):
    model = tiny_clfa(alpha=0.0, beta=2.0)
    output = model(**inputs, labels=LABEL_IDS)
    assert output.alignment_loss is not None and output.alignment_loss > 0
    torch.testing.assert_close(output.loss, 2.0 * F.cross_entropy(output.logits, LABEL_IDS), rtol=0, atol=0)


def test_cached_teacher_embeddings_give_the_same_loss_as_the_internal_teacher(inputs, tmp_path):
    model = tiny_clfa()
    live = model(**inputs, labels=LABEL_IDS)
    image_embeds, text_embeds = model.teacher_embeds(
        inputs["teacher_pixel_values"], inputs["teacher_input_ids"], inputs["teacher_attention_mask"]
    )
    cached = model(
        **student_inputs(inputs), teacher_image_embeds=image_embeds, teacher_text_embeds=text_embeds, labels=LABEL_IDS
    )
    torch.testing.assert_close(cached.loss, live.loss, rtol=0, atol=0)
    torch.testing.assert_close(cached.alignment_loss, live.alignment_loss, rtol=0, atol=0)

    # The same weights without a teacher, aligned from the cache alone.
    model.save_pretrained(tmp_path)
    without_teacher = CLFAForClassification.from_pretrained(tmp_path, use_teacher=False).eval()
    assert without_teacher.teacher is None and not without_teacher.config.use_teacher
    assert not any(name.startswith("teacher.") for name in without_teacher.state_dict())
    cached_only = without_teacher(
        **student_inputs(inputs), teacher_image_embeds=image_embeds, teacher_text_embeds=text_embeds, labels=LABEL_IDS
    )
    torch.testing.assert_close(cached_only.loss, live.loss)


def test_prediction_without_a_teacher(inputs):
    model = tiny_clfa(use_teacher=False, beta=0.5)
    assert model.teacher is None
    output = model(**student_inputs(inputs), labels=LABEL_IDS)
    assert output.logits.shape == (BATCH, 2) and output.alignment_loss is None
    torch.testing.assert_close(output.loss, 0.5 * F.cross_entropy(output.logits, LABEL_IDS), rtol=0, atol=0)
    with pytest.raises(ValueError, match="teacher_pixel_values.*use_teacher=False"):
        model(**inputs, labels=LABEL_IDS)
    with pytest.raises(ValueError, match="no teacher"):
        model.teacher_embeds(inputs["teacher_pixel_values"])


def test_teacher_less_inputs_give_cross_entropy_only(inputs):
    model = tiny_clfa()
    output = model(**student_inputs(inputs), labels=LABEL_IDS)  # BERT/ViT students cannot feed the CLIP teacher
    assert output.alignment_loss is None
    torch.testing.assert_close(output.loss, F.cross_entropy(output.logits, LABEL_IDS), rtol=0, atol=0)


def test_teacher_inputs_must_be_complete_and_unambiguous(inputs):
    model = tiny_clfa()
    image_embeds, _ = model.teacher_embeds(inputs["teacher_pixel_values"])
    with pytest.raises(ValueError, match="available for the image but not for the text"):
        model(**student_inputs(inputs), teacher_pixel_values=inputs["teacher_pixel_values"], labels=LABEL_IDS)
    with pytest.raises(ValueError, match="teacher_pixel_values.*teacher_image_embeds.*both"):
        model(**inputs, teacher_image_embeds=image_embeds, labels=LABEL_IDS)
    mixed = model(
        **{key: value for key, value in inputs.items() if key != "teacher_pixel_values"},
        teacher_image_embeds=image_embeds,
        labels=LABEL_IDS,
    )
    torch.testing.assert_close(mixed.loss, model(**inputs, labels=LABEL_IDS).loss)


def test_student_inputs_are_required(inputs):
    model = tiny_clfa()
    with pytest.raises(ValueError, match="pixel_values.*input_ids"):
        model(input_ids=inputs["input_ids"])


# ---------------------------------------------------------------------------------------------------- knowledge
def test_knowledge_branch(inputs, knowledge):
    model = tiny_clfa(use_knowledge=True)
    assert all(layer.knowledge_attention is not None for layer in model.fusion)
    assert all(layer.knowledge_attention is None for layer in tiny_clfa().fusion)
    output = model(**inputs, **knowledge, labels=LABEL_IDS)
    assert output.logits.shape == (BATCH, 2) and output.fused_embeds.shape == (BATCH, WIDTH)

    other = {**knowledge, "knowledge_input_ids": (knowledge["knowledge_input_ids"] + 7) % 100}
    changed = model(**inputs, **other)
    assert not torch.allclose(changed.logits, output.logits)
    # The knowledge reaches the fusion only: the aligned student vectors are the post's own.
    torch.testing.assert_close(changed.text_embeds, output.text_embeds, rtol=0, atol=0)
    torch.testing.assert_close(changed.image_embeds, output.image_embeds, rtol=0, atol=0)

    # The knowledge goes through the same text encoder and projection as the post text.
    encoding = model.encode(inputs["pixel_values"], inputs["input_ids"], inputs["attention_mask"], **knowledge)
    with torch.no_grad():
        states = model.text_encoder(
            input_ids=knowledge["knowledge_input_ids"], attention_mask=knowledge["knowledge_attention_mask"]
        ).last_hidden_state
    torch.testing.assert_close(encoding.knowledge_tokens, model.text_projection(states))

    with pytest.raises(ValueError, match="use_knowledge=True.*knowledge_input_ids"):
        model(**inputs)
    with pytest.raises(ValueError, match="use_knowledge=False"):
        tiny_clfa()(**inputs, **knowledge)


# ------------------------------------------------------------------------------------------------------ pooling
def test_pool_tokens_by_hand():
    tokens = torch.tensor([[[1.0, -2.0], [3.0, 4.0], [100.0, 100.0]], [[0.0, 1.0], [-5.0, 2.0], [1.0, -1.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    torch.testing.assert_close(pool_tokens(tokens, mask, "mean"), torch.tensor([[2.0, 1.0], [-4 / 3, 2 / 3]]))
    torch.testing.assert_close(pool_tokens(tokens, mask, "max"), torch.tensor([[3.0, 4.0], [1.0, 2.0]]))
    torch.testing.assert_close(pool_tokens(tokens, mask, "cls"), tokens[:, 0])
    torch.testing.assert_close(pool_tokens(tokens, None, "mean"), tokens.mean(dim=1))
    with pytest.raises(ValueError, match="pooling"):
        pool_tokens(tokens, mask, "sum")


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_each_pooling_mode_ignores_padding(inputs, pooling):
    model = tiny_clfa(pooling=pooling)
    output = model(**inputs, labels=LABEL_IDS)
    assert output.fused_embeds.shape == (BATCH, WIDTH) and torch.isfinite(output.loss)
    padded = dict(inputs)
    padded["input_ids"] = F.pad(inputs["input_ids"], (0, 3), value=0)
    padded["attention_mask"] = F.pad(inputs["attention_mask"], (0, 3), value=0)
    torch.testing.assert_close(model(**padded).logits, output.logits, rtol=1e-5, atol=1e-5)


def test_pooling_modes_pool_the_same_fused_sequence_differently(inputs):
    fused = {pooling: tiny_clfa(pooling=pooling)(**inputs).fused_embeds for pooling in ("mean", "cls", "max")}
    assert not torch.allclose(fused["mean"], fused["cls"]) and not torch.allclose(fused["mean"], fused["max"])
    model = tiny_clfa(pooling="cls")
    encoding = model.encode(inputs["pixel_values"], inputs["input_ids"], inputs["attention_mask"])
    torch.testing.assert_close(
        model.fuse(encoding.text_tokens, encoding.text_mask, encoding.image_tokens), fused["cls"], rtol=0, atol=0
    )


def test_fuse_runs_swapped_pairs_without_re_encoding(inputs):
    model = tiny_clfa()
    encoding = model.encode(inputs["pixel_values"], inputs["input_ids"], inputs["attention_mask"])
    order = torch.tensor([1, 0, 3, 2])
    swapped = model.fuse(encoding.text_tokens[order], encoding.text_mask[order], encoding.image_tokens)
    reference = model(
        pixel_values=inputs["pixel_values"],
        input_ids=inputs["input_ids"][order],
        attention_mask=inputs["attention_mask"][order],
    )
    torch.testing.assert_close(swapped, reference.fused_embeds)


# ---------------------------------------------------------------------------------------------- teacher freezing
def test_teacher_is_frozen_and_gets_no_gradient(inputs, tmp_path):
    model = tiny_clfa()
    assert not any(p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert not model.teacher.training and model.fusion[0].training
    model(**inputs, labels=LABEL_IDS).loss.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    without_gradient = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert without_gradient == []  # every student, projection, fusion and classifier weight learns
    for module in (model.text_encoder, model.vision_encoder, model.text_projection, model.image_projection):
        assert sum(p.grad.abs().sum() for p in module.parameters()) > 0
    assert model.fusion[-1].feed_forward.dense_in.weight.grad.abs().sum() > 0
    assert model.classifier.weight.grad.abs().sum() > 0

    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert not any(name.startswith("teacher.") for name in trainable)
    model.save_pretrained(tmp_path)
    reloaded = CLFAForClassification.from_pretrained(tmp_path)
    assert {name for name, p in reloaded.named_parameters() if p.requires_grad} == trainable
    assert not reloaded.train().teacher.training


def test_students_have_no_pooler(inputs):
    model = tiny_clfa()
    assert model.text_encoder.pooler is None and model.vision_encoder.pooler is None


def test_new_modules_use_pytorch_default_initialisation():
    model = tiny_clfa()
    layer = model.fusion[0]
    for linear in (model.text_projection.dense_in, layer.image_attention.attention.query, model.classifier):
        bound = 1 / math.sqrt(linear.in_features)  # kaiming-uniform with a = sqrt(5)
        assert linear.weight.abs().max() <= bound and linear.bias.abs().max() <= bound
        assert linear.weight.std() > bound / 2  # far wider than BERT's normal(0.02)
    assert torch.equal(layer.feed_forward.layer_norm.weight, torch.ones(WIDTH))
    # Sub-models keep their own initialisation (BERT: normal(0.02)).
    assert model.text_encoder.encoder.layer[0].attention.self.query.weight.std() < 0.03


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(inputs):
    model = tiny_clfa(dropout=0.0, fusion_dropout=0.0, classifier_dropout=0.0).train()
    weight = model.fusion[0].self_attention.attention.query.weight
    reference = model(**inputs, labels=LABEL_IDS).loss
    reference.backward()
    reference_grad = weight.grad.clone()
    model.zero_grad()
    model.activation_checkpointing_enable()
    assert model.fusion[0].gradient_checkpointing
    loss = model(**inputs, labels=LABEL_IDS).loss
    loss.backward()
    torch.testing.assert_close(loss, reference)
    torch.testing.assert_close(weight.grad, reference_grad)


# ----------------------------------------------------------------------------------------------------- variants
def test_clip_students_variant_runs_from_one_set_of_inputs(inputs):
    model = tiny_clip_students()
    assert isinstance(model.text_encoder, CLIPTextModel) and isinstance(model.vision_encoder, CLIPVisionModel)
    clip_inputs = {
        "pixel_values": inputs["teacher_pixel_values"],
        "input_ids": inputs["teacher_input_ids"],
        "attention_mask": inputs["teacher_attention_mask"],
    }
    output = model(**clip_inputs, labels=LABEL_IDS)
    assert output.alignment_loss is not None
    explicit = model(
        **clip_inputs,
        teacher_pixel_values=clip_inputs["pixel_values"],
        teacher_input_ids=clip_inputs["input_ids"],
        teacher_attention_mask=clip_inputs["attention_mask"],
        labels=LABEL_IDS,
    )
    torch.testing.assert_close(output.loss, explicit.loss, rtol=0, atol=0)
    # All 17 vision tokens after CLIP's final LayerNorm, its CLS token being CLIP's pooled output.
    with torch.no_grad():
        vision = model.vision_encoder(pixel_values=clip_inputs["pixel_values"])
        tokens = model.vision_encoder.post_layernorm(vision.last_hidden_state)
    torch.testing.assert_close(tokens[:, 0], vision.pooler_output)
    expected_image = F.normalize(model.image_projection(tokens).mean(dim=1), dim=-1)
    torch.testing.assert_close(output.image_embeds, expected_image)

    model.train()
    model(**clip_inputs, labels=LABEL_IDS).loss.backward()
    assert [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None] == []


def test_three_labels():
    model = tiny_clfa(labels=["positive", "negative", "neutral"])
    generator = torch.Generator().manual_seed(3)
    output = model(
        pixel_values=torch.randn(3, 3, 32, 32, generator=generator),
        input_ids=torch.randint(1, 100, (3, 6), generator=generator),
        labels=torch.tensor([0, 2, 1]),
    )
    assert model.classifier.out_features == 3 and output.logits.shape == (3, 3)
    torch.testing.assert_close(output.loss, F.cross_entropy(output.logits, torch.tensor([0, 2, 1])), rtol=0, atol=0)


@pytest.mark.parametrize("variant", ["bert_vit", "clip_students"])
def test_no_split_modules_name_real_classes(variant):
    model = tiny_clfa() if variant == "bert_vit" else tiny_clip_students()
    classes = {type(module).__name__ for module in model.modules()}
    assert "CLFAFusionLayer" in model._no_split_modules
    assert set(model._no_split_modules) <= classes


# ------------------------------------------------------------------------------------------------ saving, loading
def test_save_and_load_keeps_logits_and_loss(inputs, tmp_path):
    model = tiny_clfa(use_knowledge=True, pooling="max")
    knowledge = {"knowledge_input_ids": inputs["input_ids"][:, :5], "knowledge_attention_mask": None}
    model.save_pretrained(tmp_path)
    reloaded = CLFAForClassification.from_pretrained(tmp_path)
    expected, actual = (
        model(**inputs, **knowledge, labels=LABEL_IDS),
        reloaded(**inputs, **knowledge, labels=LABEL_IDS),
    )
    torch.testing.assert_close(actual.logits, expected.logits, rtol=0, atol=0)
    torch.testing.assert_close(actual.loss, expected.loss, rtol=0, atol=0)


def test_saved_model_loads_with_auto_model_in_a_fresh_process(inputs, tmp_path):
    CLFAConfig.register_for_auto_class()
    CLFAForClassification.register_for_auto_class("AutoModel")
    model = tiny_clfa()
    model_dir = tmp_path / "model"
    model.save_pretrained(model_dir)
    assert {"configuration_clfa.py", "modeling_clfa.py"} <= {path.name for path in model_dir.iterdir()}
    with torch.no_grad():
        expected = model(**inputs, labels=LABEL_IDS)
    torch.save(inputs, tmp_path / "inputs.pt")

    code = f"""
import json, sys, torch
from transformers import AutoModel
model = AutoModel.from_pretrained({str(model_dir)!r}, trust_remote_code=True)
inputs = torch.load({str(tmp_path / "inputs.pt")!r})
with torch.no_grad():
    output = model(**inputs, labels=torch.tensor({LABEL_IDS.tolist()!r}))
print(json.dumps({{
    "model": [type(model).__name__, type(model).__module__],
    "memekit_imported": any(name.startswith("memekit") for name in sys.modules),
    "frozen_teacher": not any(p.requires_grad for p in model.teacher.parameters()),
    "trainable_students": all(p.requires_grad for p in model.text_encoder.parameters()),
    "logits": output.logits.tolist(),
    "loss": output.loss.item(),
}}))
"""
    result = run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "empty_hf_home")
    assert result["model"][0] == "CLFAForClassification"
    assert result["model"][1].startswith("transformers_modules.")
    assert not result["memekit_imported"]
    assert result["frozen_teacher"] and result["trainable_students"]
    torch.testing.assert_close(torch.tensor(result["logits"]), expected.logits, rtol=0, atol=0)
    assert result["loss"] == pytest.approx(expected.loss.item(), rel=1e-6)


def _save_tiny_backbones(tmp_path):
    torch.manual_seed(11)
    bert, vit, clip = BertModel(tiny_bert_config()), ViTModel(tiny_vit_config()), CLIPModel(tiny_clip_config())
    for name, model in (("bert", bert), ("vit", vit), ("clip", clip)):
        model.save_pretrained(tmp_path / name)
    return bert, vit, clip


def _assert_same_weights(loaded: torch.nn.Module, reference: torch.nn.Module) -> None:
    loaded_state = loaded.state_dict()
    for name, tensor in reference.state_dict().items():
        if name.startswith("pooler."):
            continue  # the students are built without a pooler
        torch.testing.assert_close(loaded_state[name], tensor, rtol=0, atol=0)


def test_from_pretrained_backbones_loads_students_and_a_frozen_teacher(tmp_path, inputs):
    bert, vit, clip = _save_tiny_backbones(tmp_path)
    model = CLFAForClassification.from_pretrained_backbones(
        tmp_path / "bert", tmp_path / "vit", tmp_path / "clip", labels=LABELS, **tiny_fusion_kwargs(alpha=0.5)
    )
    assert model.config.id2label == {0: "not sarcastic", 1: "sarcastic"} and model.config.alpha == 0.5
    assert model.config.projection_dim == WIDTH
    _assert_same_weights(model.text_encoder, bert)
    _assert_same_weights(model.vision_encoder, vit)
    _assert_same_weights(model.teacher, clip)
    assert model.text_encoder.pooler is None and model.vision_encoder.pooler is None
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert all(p.requires_grad for p in model.text_encoder.parameters())
    assert torch.isfinite(model(**inputs, labels=LABEL_IDS).alignment_loss)

    clip_students = CLFAForClassification.from_pretrained_backbones(
        tmp_path / "clip", tmp_path / "clip", tmp_path / "clip", labels=LABELS, **tiny_fusion_kwargs()
    )
    assert isinstance(clip_students.text_encoder, CLIPTextModel)
    assert isinstance(clip_students.vision_encoder, CLIPVisionModel)
    _assert_same_weights(clip_students.text_encoder, clip.text_model)
    _assert_same_weights(clip_students.vision_encoder, clip.vision_model)

    without_teacher = CLFAForClassification.from_pretrained_backbones(
        tmp_path / "bert",
        tmp_path / "vit",
        tmp_path / "clip",
        labels=LABELS,
        use_teacher=False,
        **tiny_fusion_kwargs(),
    )
    assert without_teacher.teacher is None and without_teacher.config.teacher_config.projection_dim == WIDTH


@pytest.mark.parametrize("labels", [[], "sarcasm", ["a", "a"], ["a", ""]])
def test_from_pretrained_backbones_rejects_bad_labels(labels, tmp_path):
    with pytest.raises(ValueError, match="labels"):
        CLFAForClassification.from_pretrained_backbones(tmp_path, tmp_path, tmp_path, labels=labels)
