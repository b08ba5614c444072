import argparse
import copy
import json
import hashlib

import pytest
import torch
from data_fixtures import write_image
from helpers import random_image, run_fresh_python
from reference_official import (
    OpenAICLIP,
    official_memeclip_features,
    official_memeclip_logits,
    official_token_ids,
    random_official_head,
)
from transformers import AutoModel

from memekit import MemeCLIPForClassification, MemeProcessor
from memekit.cli import main as cli_main
from memekit.convert.memeclip import convert_memeclip
from memekit.convert.openai_clip import clip_from_openai
from memekit.outputs import MANIFEST
from memekit.tiny import tiny_clip_tokenizer


TEXTS = ["the official code", "a much longer meme caption " * 8, "null"]


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """An official-layout MemeCLIP checkpoint (random weights), the OpenAI CLIP it was built on, and a tokenizer."""
    root = tmp_path_factory.mktemp("official")
    torch.manual_seed(0)
    clip = OpenAICLIP().eval()
    openai_state = clip.state_dict()
    head = random_official_head(embed_dim=32, text_width=64, map_dim=64, num_labels=3)

    # As the official code saves it: no `visual.proj`, the text tower repeated under `text_encoder.*`.
    state_dict = {f"clip_model.{k}": v for k, v in openai_state.items() if k != "visual.proj"}
    state_dict.update({f"text_encoder.{k}": v for k, v in openai_state.items() if not k.startswith("visual.")})
    state_dict.update(head)
    checkpoint = root / "model.ckpt"
    torch.save({"state_dict": state_dict, "epoch": 7, "global_step": 2800}, checkpoint)

    openai_file = root / "ViT-tiny.pt"
    torch.save(openai_state, openai_file)
    tokenizer_dir = root / "tokenizer"
    tiny_clip_tokenizer().save_pretrained(tokenizer_dir)
    return {
        "root": root,
        "clip": clip,
        "head": head,
        "checkpoint": checkpoint,
        "openai_file": openai_file,
        "tokenizer_dir": tokenizer_dir,
        "openai_state": openai_state,
        "state_dict": state_dict,
    }


@pytest.fixture(scope="module")
def converted(official):
    output = official["root"] / "converted"
    convert_memeclip(
        official["checkpoint"], official["openai_file"], "stance", output, tokenizer=official["tokenizer_dir"]
    )
    return output


def reference_inputs(tokenizer):
    pixels = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    return pixels, official_token_ids(tokenizer, TEXTS)


def assert_matches_official(model, official, tolerance=1e-5):
    tokenizer = tiny_clip_tokenizer()
    pixels, token_ids = reference_inputs(tokenizer)
    image_ref, text_ref = official_memeclip_features(official["clip"], pixels, token_ids)
    logits_ref = official_memeclip_logits(official["head"], image_ref, text_ref)
    with torch.no_grad():
        output = model(pixel_values=pixels, input_ids=token_ids)  # zero-padded ids, no attention mask, as the original
    torch.testing.assert_close(output.image_embeds, image_ref, rtol=0, atol=tolerance)
    torch.testing.assert_close(output.text_embeds, text_ref, rtol=0, atol=tolerance)
    torch.testing.assert_close(output.logits, logits_ref, rtol=0, atol=tolerance)
    return logits_ref


def test_converted_logits_equal_the_official_model(converted, official):
    model = AutoModel.from_pretrained(converted)
    assert isinstance(model, MemeCLIPForClassification)
    assert model.config.id2label == {0: "Neutral", 1: "Support", 2: "Oppose"}
    assert not model.training
    assert_matches_official(model, official)


def test_tokenizer_padding_does_not_move_the_pooled_end_token(converted, official):
    model = AutoModel.from_pretrained(converted)
    processor = MemeProcessor.from_pretrained(converted)
    tokens = processor(text=TEXTS)
    pixels, zero_padded = reference_inputs(processor.tokenizer)
    with torch.no_grad():
        ours = model(pixel_values=pixels, **tokens).logits
        original = model(pixel_values=pixels, input_ids=zero_padded).logits
    torch.testing.assert_close(ours, original, rtol=0, atol=1e-5)


def test_the_missing_visual_projection_comes_from_the_clip_source(converted, official):
    model = AutoModel.from_pretrained(converted)
    torch.testing.assert_close(model.clip.visual_projection.weight, official["openai_state"]["visual.proj"].t())


def test_conversion_from_a_transformers_clip_folder(official, tmp_path):
    clip_dir = tmp_path / "clip"
    clip_from_openai(official["openai_state"]).save_pretrained(clip_dir)
    tiny_clip_tokenizer().save_pretrained(clip_dir)
    model = convert_memeclip(official["checkpoint"], clip_dir, "stance", tmp_path / "out")
    assert_matches_official(model, official)
    assert (tmp_path / "out" / "tokenizer.json").is_file()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_conversion_with_an_openai_torchscript_archive(official, tmp_path):
    clip = copy.deepcopy(official["clip"])
    clip.forward = lambda pixels, token_ids: (clip.visual(pixels), clip.encode_text(token_ids))
    example = (torch.randn(1, 3, 32, 32), torch.randint(0, 514, (1, 77)))
    archive = tmp_path / "ViT-tiny-jit.pt"
    torch.jit.save(torch.jit.trace(clip, example, check_trace=False), archive)
    model = convert_memeclip(
        official["checkpoint"], archive, "stance", tmp_path / "out", tokenizer=official["tokenizer_dir"]
    )
    assert_matches_official(model, official)


def test_conversion_of_a_head_only_state_dict(official, tmp_path):
    bare = tmp_path / "head.pt"
    torch.save(official["head"], bare)
    model = convert_memeclip(
        bare, official["openai_file"], "stance", tmp_path / "out", tokenizer=official["tokenizer_dir"]
    )
    assert_matches_official(model, official)


def test_converted_folder_loads_in_a_fresh_process_with_remote_code(converted, official, tmp_path):
    tokenizer = tiny_clip_tokenizer()
    pixels, token_ids = reference_inputs(tokenizer)
    torch.save({"pixels": pixels, "ids": token_ids}, tmp_path / "inputs.pt")
    expected = assert_matches_official(AutoModel.from_pretrained(converted), official)
    code = f"""
import json, sys, torch
from transformers import AutoModel
model = AutoModel.from_pretrained({str(converted)!r}, trust_remote_code=True)
inputs = torch.load({str(tmp_path / "inputs.pt")!r})
with torch.no_grad():
    logits = model(pixel_values=inputs["pixels"], input_ids=inputs["ids"]).logits
print(json.dumps({{"class": type(model).__name__, "module": type(model).__module__,
                  "memekit_imported": "memekit" in sys.modules, "logits": logits.tolist()}}))
"""
    result = run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "hf_home")
    assert result["class"] == "MemeCLIPForClassification"
    assert result["module"].startswith("transformers_modules.")
    assert not result["memekit_imported"]
    torch.testing.assert_close(torch.tensor(result["logits"]), expected, rtol=0, atol=1e-5)


def test_convert_command_line(official, tmp_path, capsys):
    output = tmp_path / "cli"
    code = cli_main(
        [
            "convert",
            "memeclip",
            "--checkpoint",
            str(official["checkpoint"]),
            "--clip",
            str(official["openai_file"]),
            "--tokenizer",
            str(official["tokenizer_dir"]),
            "--task",
            "stance",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    assert "stance" in capsys.readouterr().out
    config = json.loads((output / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_memeclip.MemeCLIPForClassification"
    assert_matches_official(AutoModel.from_pretrained(output), official)


def test_wrong_task_is_rejected(official, tmp_path):
    with pytest.raises(ValueError, match="3 classes but task 'hate' has 2"):
        convert_memeclip(
            official["checkpoint"], official["openai_file"], "hate", tmp_path, tokenizer=official["tokenizer_dir"]
        )
    with pytest.raises(ValueError, match="task"):
        convert_memeclip(official["checkpoint"], official["openai_file"], "sarcasm", tmp_path)


def test_a_clip_of_another_size_is_rejected(official, tmp_path):
    torch.manual_seed(1)
    other = tmp_path / "other.pt"
    torch.save(OpenAICLIP(width=128).state_dict(), other)
    with pytest.raises(ValueError, match="does not fit the CLIP"):
        convert_memeclip(
            official["checkpoint"], other, "stance", tmp_path / "out", tokenizer=official["tokenizer_dir"]
        )


def test_bad_checkpoint_files(official, tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        convert_memeclip(tmp_path / "absent.ckpt", official["openai_file"], "stance", tmp_path / "out")
    not_memeclip = tmp_path / "other.pt"
    torch.save({"state_dict": {"linear.weight": torch.zeros(2, 2)}}, not_memeclip)
    with pytest.raises(ValueError, match="not an official MemeCLIP checkpoint"):
        convert_memeclip(not_memeclip, official["openai_file"], "stance", tmp_path / "out")


def test_pickled_objects_need_unsafe_pickle(official, tmp_path):
    lightning = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": official["state_dict"], "hyper_parameters": argparse.Namespace(lr=1e-4)}, lightning)
    with pytest.raises(ValueError, match="unsafe-pickle"):
        convert_memeclip(
            lightning, official["openai_file"], "stance", tmp_path / "out", tokenizer=official["tokenizer_dir"]
        )
    model = convert_memeclip(
        lightning,
        official["openai_file"],
        "stance",
        tmp_path / "out",
        tokenizer=official["tokenizer_dir"],
        unsafe_pickle=True,
    )
    assert_matches_official(model, official)


def test_converted_model_predicts_with_its_saved_processor(converted):
    model = AutoModel.from_pretrained(converted)
    predictions = model.predict([random_image(1), random_image(2)], ["a meme", None])
    assert [p["label"] in {"Neutral", "Support", "Oppose"} for p in predictions] == [True, True]


def _tree_hashes(folder):
    files = (path for path in folder.rglob("*") if path.is_file())
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def _refused(argv, capsys, *fragments):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(fragment in err for fragment in fragments), err


def test_convert_never_writes_over_an_existing_folder(official, tmp_path, capsys):
    """An existing non-empty --output needs --overwrite, and then only a folder memekit wrote is replaced."""
    output = tmp_path / "converted"
    write_image(output / "mine.png", seed=0)
    before = _tree_hashes(output)
    argv = ["convert", "memeclip", "--checkpoint", str(official["checkpoint"]), "--clip", str(official["openai_file"]),
            "--tokenizer", str(official["tokenizer_dir"]), "--task", "stance", "--output", str(output)]  # fmt: skip
    _refused(argv, capsys, "already exists", "--overwrite")
    _refused([*argv, "--overwrite"], capsys, "was not written by memekit")
    assert _tree_hashes(output) == before

    fresh = tmp_path / "fresh"
    argv[-1] = str(fresh)
    assert cli_main(argv) == 0
    assert json.loads((fresh / MANIFEST).read_text())["kind"] == "converted model"
    _refused(argv, capsys, "already exists")
    assert cli_main([*argv, "--overwrite"]) == 0  # memekit's own folder, unchanged: replaceable
