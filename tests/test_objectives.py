import json

import pytest
import torch
import torch.nn.functional as F
from helpers import LABELS, random_image
from peft import get_peft_model
from safetensors.torch import load_file
from test_train import prepared, train_args  # noqa: F401  (fixture and helper shared with the training tests)

import memekit.train
from memekit.objectives import OBJECTIVES, CombinedLoss, ImageTextMatching, parse_objectives
from memekit.peft import cdglt_ln_tuning_config
from memekit.tiny import tiny_cdglt, tiny_memeclip


@pytest.fixture
def memeclip_batch():
    model, processor = tiny_memeclip(LABELS, seed=0)
    inputs = processor(images=[random_image(i) for i in range(6)], text=[f"meme number {i}" for i in range(6)])
    return model, {**inputs, "labels": torch.tensor([0, 1, 0, 1, 1, 0])}


def test_registry_and_parsing():
    assert set(OBJECTIVES) == {"itc", "itm", "clfa_alignment"}
    assert parse_objectives(["itc:0.2", "itm"]) == [("itc", 0.2), ("itm", 0.1)]
    with pytest.raises(ValueError, match="Unknown objective 'itx'"):
        parse_objectives(["itx:0.1"])
    with pytest.raises(ValueError, match="not a number"):
        parse_objectives(["itc:a lot"])
    with pytest.raises(ValueError, match="sum to less than 1"):
        parse_objectives(["itc:0.6", "itm:0.5"])
    with pytest.raises(ValueError, match="once"):
        parse_objectives(["itc:0.1", "itc:0.2"])


def test_itc_is_the_symmetric_infonce_of_memeclips_adapted_vectors(memeclip_batch):
    model, batch = memeclip_batch
    combined = CombinedLoss([("itc", 0.1)], model)
    outputs = model(**batch)
    image, text = F.normalize(outputs.image_features, dim=-1), F.normalize(outputs.text_features, dim=-1)
    logits = (1 / 0.07) * text @ image.t()
    targets = torch.arange(6)
    expected_itc = 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.t(), targets))
    total, parts = combined(model, outputs)
    assert parts["itc"] == pytest.approx(expected_itc.item(), rel=1e-5)
    torch.testing.assert_close(total, 0.9 * outputs.loss + 0.1 * expected_itc, rtol=1e-5, atol=1e-6)


def test_itm_pairs_are_seeded_and_labelled_consistently(memeclip_batch):
    model, _ = memeclip_batch
    first, second = ImageTextMatching(0.1, model, seed=3), ImageTextMatching(0.1, model, seed=3)
    draws = [first.sample(16) for _ in range(20)]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(draws, [second.sample(16) for _ in range(20)]))
    orders = torch.stack([order for order, _ in draws])
    labels = torch.stack([label for _, label in draws])
    assert torch.equal(labels == 0, orders != torch.arange(16))  # swapped exactly when labelled mismatch
    assert 0.35 < (labels == 0).float().mean() < 0.65  # about half of the pairs are swapped
    assert not torch.equal(ImageTextMatching(0.1, model, seed=4).sample(16)[0], draws[0][0])
    assert ImageTextMatching(0.1, model).sample(1)[1].tolist() == [1]


def test_itm_runs_swapped_texts_through_memeclips_fusion(memeclip_batch):
    model, batch = memeclip_batch
    outputs = model(**batch)
    order = torch.tensor([1, 0, 2, 3, 5, 4])
    fused = model.itm_fused(outputs, order)
    torch.testing.assert_close(fused[2], outputs.fused_embeds[2])  # unswapped pairs are the model's own fusion
    expected = model.fuse(outputs.image_features[:1], outputs.text_features[1:2])
    torch.testing.assert_close(fused[:1], expected)


def test_both_objectives_train_with_memeclip(memeclip_batch):
    model, batch = memeclip_batch
    model.train()
    combined = CombinedLoss([("itc", 0.1), ("itm", 0.1)], model, seed=0)
    total, parts = combined(model, model(**batch))
    assert set(parts) == {"task", "itc", "itm"}
    total.backward()
    assert combined.objectives[0].logit_scale.grad is not None
    assert combined.objectives[1].head.weight.grad.abs().sum() > 0
    assert model.text_adapter.fc[0].weight.grad.abs().sum() > 0


def test_cdglt_supports_itm_but_not_itc():
    model, processor = tiny_cdglt(["literal", "metaphorical"])
    peft_model = get_peft_model(model, cdglt_ln_tuning_config(model))
    with pytest.raises(ValueError, match="does not support the 'itc' objective"):
        CombinedLoss([("itc", 0.1)], peft_model)
    combined = CombinedLoss([("itm", 0.1)], peft_model)
    batch = processor(images=[random_image(i) for i in range(4)], text=["a", "b", "c", "d"])
    total, parts = combined(peft_model, peft_model(**batch, labels=torch.tensor([0, 1, 1, 0])))
    total.backward()
    assert "itm" in parts and combined.objectives[0].head.weight.grad is not None


def test_clfa_alignment_needs_a_model_that_computes_it(memeclip_batch):
    model, batch = memeclip_batch
    with pytest.raises(ValueError, match="alignment_loss"):
        CombinedLoss([("clfa_alignment", 0.5)], model)(model, model(**batch))


def test_training_with_objectives_resumes_exactly(prepared, tmp_path, monkeypatch):  # noqa: F811
    extra = ("--epochs", "3", "--objectives", "itc:0.1", "itm:0.1")
    memekit.train.main(train_args(prepared, tmp_path / "uninterrupted", tmp_path / "cache", *extra))

    calls = {"count": 0}
    original = memekit.train.predict_split

    def interrupt(*args, **kwargs):
        calls["count"] += 1
        if calls["count"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    interrupted = train_args(prepared, tmp_path / "interrupted", tmp_path / "cache", *extra)
    monkeypatch.setattr(memekit.train, "predict_split", interrupt)
    with pytest.raises(KeyboardInterrupt):
        memekit.train.main(interrupted)
    monkeypatch.setattr(memekit.train, "predict_split", original)
    memekit.train.main([*interrupted, "--resume"])

    for name in ("model.safetensors", "model_1.safetensors"):  # the model, then the objectives' parameters
        a = load_file(tmp_path / "uninterrupted" / "seed_42" / "checkpoints" / "epoch_0002" / name)
        b = load_file(tmp_path / "interrupted" / "seed_42" / "checkpoints" / "epoch_0002" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a), name
    objective_state = load_file(
        tmp_path / "interrupted" / "seed_42" / "checkpoints" / "epoch_0002" / "model_1.safetensors"
    )
    assert any("logit_scale" in key for key in objective_state) and any("draws" in key for key in objective_state)
    release = tmp_path / "interrupted" / "seed_42" / "model"
    plain_keys = set(tiny_memeclip(LABELS)[0].state_dict())
    assert set(load_file(release / "model.safetensors")) == plain_keys  # the objectives are not released
    assert json.loads((release / "eval_results.json").read_text())["test"]["num_examples"] == 3
