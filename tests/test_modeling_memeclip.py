import pytest
import torch
import torch.nn.functional as F
from helpers import LABELS, random_image
from transformers import AutoModel, CLIPModel

from memekit import MemeCLIPForClassification
from memekit.tiny import tiny_clip_tokenizer, tiny_memeclip


TEXTS = ["one does not simply write tests", "when the build is green", None, "None"]


@pytest.fixture
def inputs(processor):
    images = [random_image(seed) for seed in range(len(TEXTS))]
    return processor(images=images, text=TEXTS, return_tensors="pt")


def test_forward_shapes_and_loss_only_with_labels(model_and_processor, inputs):
    model, _ = model_and_processor
    output = model(**inputs)
    assert output.loss is None
    assert output.logits.shape == (4, 2)
    assert output.image_embeds.shape == (4, 24)
    assert output.text_embeds.shape == (4, 32)
    assert output.fused_embeds.shape == (4, 32)

    labels = torch.tensor([0, 1, 1, 0])
    with_labels = model(**inputs, labels=labels)
    torch.testing.assert_close(with_labels.loss, F.cross_entropy(output.logits, labels))
    torch.testing.assert_close(with_labels.logits, output.logits)


def test_logits_are_a_scaled_cosine(model_and_processor, inputs):
    model, _ = model_and_processor
    logits = model(**inputs).logits
    assert logits.abs().max() <= 30.0 + 1e-4


def test_cached_embeddings_give_the_same_logits(model_and_processor, inputs):
    model, _ = model_and_processor
    raw = model(**inputs)
    cached = model(image_embeds=raw.image_embeds, text_embeds=raw.text_embeds)
    torch.testing.assert_close(cached.logits, raw.logits, rtol=0, atol=0)
    mixed = model(pixel_values=inputs["pixel_values"], text_embeds=raw.text_embeds)
    torch.testing.assert_close(mixed.logits, raw.logits, rtol=0, atol=0)


def test_embeddings_are_the_clip_features_the_head_consumes(model_and_processor, inputs):
    model, _ = model_and_processor
    output = model(**inputs)
    clip = model.clip
    expected_image = clip.visual_projection(clip.vision_model(pixel_values=inputs["pixel_values"]).pooler_output)
    hidden = clip.text_model(input_ids=inputs["input_ids"]).last_hidden_state
    end_positions = (inputs["input_ids"] == clip.config.text_config.eos_token_id).int().argmax(dim=-1)
    expected_text = hidden[torch.arange(4), end_positions]  # final-LayerNorm state, no text projection
    torch.testing.assert_close(output.image_embeds, expected_image)
    torch.testing.assert_close(output.text_embeds, expected_text)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({}, "neither"),
        ({"pixel_values": torch.zeros(1, 3, 32, 32), "image_embeds": torch.zeros(1, 24)}, "both"),
    ],
)
def test_exactly_one_image_input_is_required(model_and_processor, kwargs, fragment):
    model, _ = model_and_processor
    with pytest.raises(ValueError, match=f"pixel_values.*{fragment}"):
        model(text_embeds=torch.zeros(1, 32), **kwargs)


def test_exactly_one_text_input_is_required(model_and_processor):
    model, _ = model_and_processor
    with pytest.raises(ValueError, match="input_ids.*neither"):
        model(image_embeds=torch.zeros(1, 24))


def test_semantic_aware_initialisation_equals_the_formula(model_and_processor):
    model, processor = model_and_processor
    prompts = ["a photo of a Benign Meme.", "a photo of a Harmful Meme."]
    tokens = processor.tokenizer(prompts, padding=True, return_tensors="pt")
    with torch.no_grad():
        text_features = model.clip.get_text_features(**tokens).pooler_output
        expected = F.normalize(F.normalize(text_features, dim=-1) @ model.clip.visual_projection.weight, dim=-1)
    torch.testing.assert_close(model.classifier.weight, expected, rtol=0, atol=1e-6)


def test_underscores_in_class_names_become_spaces():
    model_a, processor = tiny_memeclip(["no_humour", "humour"], seed=3)
    model_b, _ = tiny_memeclip(["no humour", "humour"], seed=3)
    torch.testing.assert_close(model_a.classifier.weight, model_b.classifier.weight, rtol=0, atol=0)


def test_only_the_head_is_trainable(model_and_processor, inputs):
    model, _ = model_and_processor
    assert not any(p.requires_grad for p in model.clip.parameters())
    image_dim, text_dim, width, classes = 24, 32, 32, 2
    expected = (
        (image_dim + 1) * width  # image projection
        + (text_dim + 1) * width  # text projection
        + 2 * 2 * width * (width // 4)  # two bias-free adapters
        + (width + 1) * width  # pre-output layer
        + classes * width  # cosine classifier
    )
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected

    model.train()
    model(**inputs, labels=torch.tensor([0, 1, 1, 0])).loss.backward()
    assert all(p.grad is None for p in model.clip.parameters())
    assert model.classifier.weight.grad is not None and model.image_map.proj[0].weight.grad.abs().sum() > 0


def test_dropout_is_active_only_in_training(model_and_processor, inputs):
    model, _ = model_and_processor
    eval_logits = model(**inputs).logits
    torch.testing.assert_close(model(**inputs).logits, eval_logits, rtol=0, atol=0)
    model.train()
    torch.manual_seed(0)
    assert not torch.allclose(model(**inputs).logits, eval_logits)


def test_no_split_modules_name_real_classes(model_and_processor):
    model, _ = model_and_processor
    classes = {type(module).__name__ for module in model.modules()}
    assert set(model._no_split_modules) <= classes


def test_save_and_load_with_auto_model(model_and_processor, inputs, tmp_path):
    model, _ = model_and_processor
    model.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path)
    assert type(reloaded) is MemeCLIPForClassification
    assert not any(p.requires_grad for p in reloaded.clip.parameters())
    torch.testing.assert_close(reloaded(**inputs).logits, model(**inputs).logits, rtol=0, atol=0)


def test_from_clip_loads_frozen_clip_and_initialises_the_classifier(tmp_path):
    reference, _ = tiny_memeclip(LABELS, seed=5)
    clip_dir = tmp_path / "clip"
    reference.clip.save_pretrained(clip_dir)
    tiny_clip_tokenizer().save_pretrained(clip_dir)

    model = MemeCLIPForClassification.from_clip(clip_dir, labels=LABELS)
    assert model.config.id2label == {0: "Benign Meme", 1: "Harmful Meme"}
    clip = CLIPModel.from_pretrained(clip_dir)
    for name, tensor in clip.state_dict().items():
        torch.testing.assert_close(model.clip.state_dict()[name], tensor, rtol=0, atol=0)
    assert not any(p.requires_grad for p in model.clip.parameters())
    # Same CLIP, same class names: the same Semantic-Aware Initialisation as the reference model.
    torch.testing.assert_close(model.classifier.weight, reference.classifier.weight, rtol=0, atol=1e-6)


@pytest.mark.parametrize("labels", [[], "hate", ["a", "a"], ["a", ""]])
def test_from_clip_rejects_bad_labels(labels, tmp_path):
    with pytest.raises(ValueError, match="labels"):
        MemeCLIPForClassification.from_clip(tmp_path, labels=labels)


def test_predict_returns_labels_and_probabilities(model_and_processor, tmp_path):
    model, processor = model_and_processor
    paths = []
    for seed in range(3):
        path = tmp_path / f"meme_{seed}.png"
        random_image(seed).save(path)
        paths.append(str(path))
    texts = ["first", None, "third"]

    predictions = model.predict(paths, texts, processor=processor, batch_size=2)
    assert len(predictions) == 3
    with torch.no_grad():
        logits = model(**processor(images=paths, text=texts)).logits
    for prediction, row in zip(predictions, logits.softmax(dim=-1)):
        assert set(prediction["probabilities"]) == set(LABELS)
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert prediction["label"] == LABELS[int(row.argmax())]
        assert prediction["score"] == pytest.approx(float(row.max()), abs=1e-6)
    one_by_one = model.predict(paths, texts, processor=processor, batch_size=1)
    for a, b in zip(predictions, one_by_one):
        assert a["label"] == b["label"] and a["score"] == pytest.approx(b["score"], abs=1e-5)


def test_predict_loads_the_processor_saved_beside_the_model(model_and_processor, tmp_path):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path)
    image = random_image(7)
    assert reloaded.predict([image], ["hi"]) == model.predict([image], ["hi"], processor=processor)


@pytest.mark.parametrize(
    "images, texts, kwargs, error, fragment",
    [
        ("meme.png", ["a"], {}, TypeError, "images"),
        (["meme.png"], "a", {}, TypeError, "texts"),
        (["a.png", "b.png"], ["a"], {}, ValueError, "same length"),
        (["a.png"], ["a"], {"batch_size": 0}, ValueError, "batch_size"),
    ],
)
def test_predict_rejects_bad_arguments(model_and_processor, images, texts, kwargs, error, fragment):
    model, processor = model_and_processor
    with pytest.raises(error, match=fragment):
        model.predict(images, texts, processor=processor, **kwargs)


def test_predict_without_processor_explains_what_to_pass(model_and_processor):
    model, _ = model_and_processor
    with pytest.raises(ValueError, match="processor"):
        model.predict([random_image(0)], ["x"])


def test_predict_reports_a_missing_image_file(model_and_processor, tmp_path):
    model, processor = model_and_processor
    with pytest.raises(FileNotFoundError, match="missing.png"):
        model.predict([str(tmp_path / "missing.png")], ["x"], processor=processor)
