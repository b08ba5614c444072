import pytest
import torch
from helpers import LABELS, random_image, run_fresh_python
from peft import PeftModel, get_peft_model
from peft.tuners.ln_tuning.layer import LNTuningLayer
from peft.utils.other import ModulesToSaveWrapper
from safetensors.torch import load_file
from transformers import AutoModel, GPT2Config

from memekit import CDGLTConfig, CDGLTForClassification, MemeCLIPForClassification
from memekit.peft import cdglt_ln_tuning_config, clip_ln_tuning_config, merge_and_unwrap
from memekit.tiny import tiny_cdglt, tiny_clip_config, tiny_memeclip


pytestmark = pytest.mark.filterwarnings(
    "ignore:Unsupported layer type:UserWarning", "ignore:`is_gradient_checkpointing` is deprecated:FutureWarning"
)


def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.fixture
def cdglt():
    return tiny_cdglt(["literal", "metaphorical"], seed=0)


@pytest.fixture
def inputs(cdglt):
    _, processor = cdglt
    return processor(images=[random_image(seed) for seed in range(3)], text=["one", None, "three"])


@pytest.mark.parametrize("num_labels", [2, 3, 7])
def test_cdglt_trainable_count_follows_the_formula(num_labels):
    model, _ = tiny_cdglt([f"class {i}" for i in range(num_labels)])
    peft_model = get_peft_model(model, cdglt_ln_tuning_config(model))
    n_embd, n_layer, n_positions, feature_dim = 32, 2, 32, 24
    expected = (
        (2 * n_layer + 1) * 2 * n_embd  # GPT-2 LayerNorms: ln_1 and ln_2 per block, ln_f
        + n_positions * n_embd  # positional embeddings
        + 3 * feature_dim * feature_dim
        + feature_dim  # adapter on [image, drift, text]
        + feature_dim * n_embd
        + n_embd  # feature projection
        + 1  # gate
        + n_embd * num_labels
        + num_labels  # classifier
    )
    assert trainable(peft_model) == expected


@pytest.mark.parametrize(
    "num_labels, expected", [(2, 3_187_203), (3, 3_187_972), (4, 3_188_741), (5, 3_189_510), (7, 3_191_048)]
)
def test_cdglt_trainable_count_with_gpt2_small_matches_the_original(num_labels, expected):
    # GPT-2 small and 768-d CLIP features, built on the meta device (no memory, no download).
    config = CDGLTConfig(
        clip_config=tiny_clip_config(projection_dim=768),
        gpt2_config=GPT2Config(),
        id2label={i: f"class {i}" for i in range(num_labels)},
    )
    with torch.device("meta"):
        model = CDGLTForClassification(config)
        assert trainable(get_peft_model(model, cdglt_ln_tuning_config(model))) == expected


def test_cdglt_trainable_set_is_the_original_one(cdglt):
    model, _ = cdglt
    peft_model = get_peft_model(model, cdglt_ln_tuning_config(model))
    names = {name.removeprefix("base_model.model.") for name, p in peft_model.named_parameters() if p.requires_grad}
    layer_norms = {name for name in names if ".ln_tuning_layers." in name}
    assert {name.split(".ln_tuning_layers.")[0] for name in layer_norms} == {
        "gpt2.h.0.ln_1",
        "gpt2.h.0.ln_2",
        "gpt2.h.1.ln_1",
        "gpt2.h.1.ln_2",
        "gpt2.ln_f",
    }
    assert {name.split(".modules_to_save.")[0] for name in names - layer_norms} == {
        "gpt2.wpe",
        "adapter",
        "feature_projection",
        "gate",
        "classifier",
    }


def test_adapter_save_and_reload_gives_the_same_logits(cdglt, inputs, tmp_path):
    model, _ = cdglt
    model.save_pretrained(tmp_path / "base")  # the frozen prompt lives in the base checkpoint
    peft_model = get_peft_model(model, cdglt_ln_tuning_config(model))
    _perturb_trainable(peft_model)
    peft_model.eval()
    expected = peft_model(**inputs).logits
    peft_model.save_pretrained(tmp_path / "adapter")

    base = AutoModel.from_pretrained(tmp_path / "base")
    reloaded = PeftModel.from_pretrained(base, tmp_path / "adapter")
    torch.testing.assert_close(reloaded(**inputs).logits, expected, rtol=0, atol=0)
    with reloaded.disable_adapter():
        assert not torch.allclose(reloaded(**inputs).logits, expected)  # the adapter carries the trained weights

    saved = set(load_file(tmp_path / "adapter" / "adapter_model.safetensors"))
    assert not any(".clip." in key or "prompt_embedding" in key for key in saved)
    assert any(key.endswith("gpt2.wpe.weight") for key in saved)


def _perturb_trainable(peft_model: torch.nn.Module) -> None:
    """Stand-in for training: move every trainable tensor."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in peft_model.parameters():
            if parameter.requires_grad:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.1)


def test_one_optimisation_step_changes_only_the_peft_trainable_parameters(cdglt, inputs):
    model, _ = cdglt
    prompt = model.prompt_embedding.clone()
    peft_model = get_peft_model(model, cdglt_ln_tuning_config(model))
    before = {name: p.detach().clone() for name, p in peft_model.named_parameters()}
    trainable_names = {name for name, p in peft_model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2, weight_decay=1e-2)
    peft_model.train()
    peft_model(**inputs, labels=torch.tensor([0, 1, 1])).loss.backward()
    optimizer.step()
    changed = {name for name, p in peft_model.named_parameters() if not torch.equal(p, before[name])}
    assert changed == trainable_names
    assert torch.equal(model.prompt_embedding, prompt)


def test_merge_unwrap_save_and_reload_without_peft(cdglt, inputs, tmp_path):
    model, processor = cdglt
    peft_model = get_peft_model(model, cdglt_ln_tuning_config(model))
    _perturb_trainable(peft_model)
    peft_model.eval()
    expected = peft_model(**inputs).logits

    plain = merge_and_unwrap(peft_model)
    assert type(plain) is CDGLTForClassification
    assert not any(isinstance(m, (ModulesToSaveWrapper, LNTuningLayer)) for m in plain.modules())
    assert set(plain.state_dict()) == set(tiny_cdglt(["a", "b"])[0].state_dict())
    torch.testing.assert_close(plain(**inputs).logits, expected, rtol=0, atol=0)

    plain.save_pretrained(tmp_path / "release")
    processor.save_pretrained(tmp_path / "release")
    torch.save(dict(inputs), tmp_path / "inputs.pt")
    code = f"""
import json, sys, torch
sys.modules["peft"] = None  # peft is not installed, as far as this process is concerned
from transformers import AutoModel
model = AutoModel.from_pretrained({str(tmp_path / "release")!r}, trust_remote_code=True)
inputs = torch.load({str(tmp_path / "inputs.pt")!r})
with torch.no_grad():
    logits = model(**inputs).logits
print(json.dumps({{"class": type(model).__name__, "module": type(model).__module__, "logits": logits.tolist()}}))
"""
    result = run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "hf_home")
    assert result["class"] == "CDGLTForClassification"
    assert result["module"].startswith("transformers_modules.")
    torch.testing.assert_close(torch.tensor(result["logits"]), expected, rtol=0, atol=1e-6)


def test_clip_layer_norm_tuning_for_memeclip(tmp_path):
    model, processor = tiny_memeclip(LABELS)
    head = trainable(model)
    peft_model = get_peft_model(model, clip_ln_tuning_config(model))
    tuned = {
        name.split(".ln_tuning_layers.")[0].removeprefix("base_model.model.clip.")
        for name, p in peft_model.named_parameters()
        if p.requires_grad and ".ln_tuning_layers." in name
    }
    assert "vision_model.pre_layrnorm" in tuned and "vision_model.post_layernorm" in tuned
    assert "text_model.final_layer_norm" in tuned and "vision_model.encoder.layers.1.layer_norm2" in tuned
    num_layer_norms = 2 + 2 * 2 + 1 + 2 * 2  # vision: pre, post, 2 per layer; text: final, 2 per layer
    assert len(tuned) == num_layer_norms
    assert trainable(peft_model) == head + num_layer_norms * 2 * 32

    inputs = processor(images=[random_image(0), random_image(1)], text=["a", "b"])
    peft_model.train()
    peft_model(**inputs, labels=torch.tensor([0, 1])).loss.backward()
    clip_grads = [p.grad for name, p in peft_model.named_parameters() if p.requires_grad and ".clip." in name]
    assert clip_grads and all(grad is not None and grad.abs().sum() > 0 for grad in clip_grads)

    _perturb_trainable(peft_model)
    peft_model.eval()
    expected = peft_model(**inputs).logits
    plain = merge_and_unwrap(peft_model)
    plain.save_pretrained(tmp_path)
    reloaded = AutoModel.from_pretrained(tmp_path)
    assert type(reloaded) is MemeCLIPForClassification
    torch.testing.assert_close(reloaded(**inputs).logits, expected, rtol=0, atol=0)


def test_clip_layer_norm_tuning_of_one_tower(cdglt):
    model, _ = cdglt
    peft_model = get_peft_model(model, clip_ln_tuning_config(model, towers=("vision",)))
    tuned = [name for name, p in peft_model.named_parameters() if p.requires_grad and ".ln_tuning_layers." in name]
    assert tuned and all(".vision_model." in name for name in tuned)


def test_bad_arguments(cdglt):
    model, _ = cdglt
    memeclip, _ = tiny_memeclip(LABELS)
    with pytest.raises(TypeError, match="CDGLTForClassification"):
        cdglt_ln_tuning_config(memeclip)
    with pytest.raises(TypeError, match="memekit model"):
        clip_ln_tuning_config(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="towers"):
        clip_ln_tuning_config(model, towers=("audio",))
    with pytest.raises(TypeError, match="PeftModel"):
        merge_and_unwrap(model)
