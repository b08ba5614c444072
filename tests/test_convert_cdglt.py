import pytest
import torch
from reference_official import official_cdglt_logits, random_official_cdglt
from transformers import AutoModel, CLIPModel, GPT2Model

from memekit import CDGLTForClassification, MemeProcessor
from memekit.cli import main as cli_main
from memekit.convert.cdglt import convert_cdglt
from memekit.tiny import tiny_clip_config, tiny_clip_tokenizer, tiny_gpt2_config


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A GPT-2 config folder, a transformers CLIP folder (with tokenizer) and a random GPT-2 of that config."""
    root = tmp_path_factory.mktemp("cdglt_sources")
    torch.manual_seed(0)
    gpt2 = GPT2Model(tiny_gpt2_config()).eval()
    gpt2.config.save_pretrained(root / "gpt2")
    CLIPModel(tiny_clip_config()).save_pretrained(root / "clip")
    tiny_clip_tokenizer().save_pretrained(root / "clip")
    return {"root": root, "gpt2": gpt2, "gpt2_dir": root / "gpt2", "clip_dir": root / "clip"}


def clip_embeddings(batch: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return torch.randn(batch, 24, generator=generator) * 5, torch.randn(batch, 24, generator=generator) * 2


def write_checkpoint(state_dict: dict, path) -> str:
    torch.save(state_dict, path)
    return str(path)


@pytest.mark.parametrize("concept_drift", [True, False])
def test_converted_logits_equal_the_official_model(sources, tmp_path, concept_drift):
    official = random_official_cdglt(sources["gpt2"], feature_dim=24, num_labels=2, concept_drift=concept_drift)
    checkpoint = write_checkpoint(official, tmp_path / "cdglt.pt")
    convert_cdglt(checkpoint, sources["gpt2_dir"], sources["clip_dir"], "metaphor", tmp_path / "out")

    model = AutoModel.from_pretrained(tmp_path / "out")
    assert isinstance(model, CDGLTForClassification)
    assert model.config.use_concept_drift is concept_drift
    assert model.config.id2label == {0: "literal", 1: "metaphorical"}
    image, text = clip_embeddings()
    with torch.no_grad():
        logits = model(image_embeds=image, text_embeds=text).logits
    expected = official_cdglt_logits(official, sources["gpt2"], image, text)
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(model.prompt_embedding, official["prompt_embedding"], rtol=0, atol=0)


def test_converted_processor_uses_the_cdglt_preprocessing(sources, tmp_path):
    official = random_official_cdglt(sources["gpt2"], feature_dim=24, num_labels=4)
    checkpoint = write_checkpoint(official, tmp_path / "cdglt.pt")
    convert_cdglt(checkpoint, sources["gpt2_dir"], sources["clip_dir"], "offensiveness", tmp_path / "out")
    processor = MemeProcessor.from_pretrained(tmp_path / "out")
    assert (processor.image_mode, processor.text_cleaning, processor.missing_text) == ("clip", "none", "")
    assert processor.missing_markers == []


def test_a_checkpoint_without_the_full_gpt2_is_completed_from_the_source(sources, tmp_path):
    official = random_official_cdglt(sources["gpt2"], feature_dim=24, num_labels=2)
    sources["gpt2"].save_pretrained(tmp_path / "gpt2_weights")
    tuned_only = {
        key: value
        for key, value in official.items()
        if not key.startswith("gpt2_model.") or ".ln_" in key or key == "gpt2_model.wpe.weight"
    }
    checkpoint = write_checkpoint(tuned_only, tmp_path / "tuned.pt")
    model = convert_cdglt(checkpoint, tmp_path / "gpt2_weights", sources["clip_dir"], "metaphor", tmp_path / "out")
    image, text = clip_embeddings()
    with torch.no_grad():
        logits = model(image_embeds=image, text_embeds=text).logits
    torch.testing.assert_close(
        logits, official_cdglt_logits(official, sources["gpt2"], image, text), rtol=0, atol=1e-5
    )


def test_convert_command_line(sources, tmp_path, capsys):
    official = random_official_cdglt(sources["gpt2"], feature_dim=24, num_labels=7)
    checkpoint = write_checkpoint(official, tmp_path / "cdglt.pt")
    code = cli_main(
        [
            "convert",
            "cdglt",
            "--checkpoint",
            checkpoint,
            "--gpt2",
            str(sources["gpt2_dir"]),
            "--clip",
            str(sources["clip_dir"]),
            "--task",
            "sentiment",
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0 and "cdglt (sentiment)" in capsys.readouterr().out
    model = AutoModel.from_pretrained(tmp_path / "out")
    assert model.config.id2label[3] == "sorrow"


def test_mismatches_are_reported(sources, tmp_path):
    official = random_official_cdglt(sources["gpt2"], feature_dim=24, num_labels=2)
    checkpoint = write_checkpoint(official, tmp_path / "cdglt.pt")
    with pytest.raises(ValueError, match="2 classes but task 'sentiment' has 7"):
        convert_cdglt(checkpoint, sources["gpt2_dir"], sources["clip_dir"], "sentiment", tmp_path / "out")
    with pytest.raises(ValueError, match="task"):
        convert_cdglt(checkpoint, sources["gpt2_dir"], sources["clip_dir"], "sarcasm", tmp_path / "out")

    wide_clip = tmp_path / "wide_clip"
    CLIPModel(tiny_clip_config(projection_dim=48)).save_pretrained(wide_clip)
    with pytest.raises(ValueError, match="adapter weight has shape"):
        convert_cdglt(checkpoint, sources["gpt2_dir"], wide_clip, "metaphor", tmp_path / "out")

    bigger_gpt2 = tmp_path / "gpt2_64"
    tiny_gpt2_config(n_embd=64).save_pretrained(bigger_gpt2)
    with pytest.raises(ValueError, match="GPT-2 weight"):
        convert_cdglt(checkpoint, bigger_gpt2, sources["clip_dir"], "metaphor", tmp_path / "out")

    not_cdglt = write_checkpoint({"classifier.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an official CDGLT checkpoint"):
        convert_cdglt(not_cdglt, sources["gpt2_dir"], sources["clip_dir"], "metaphor", tmp_path / "out")
