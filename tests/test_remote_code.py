"""A saved folder must load anywhere with `trust_remote_code=True`: fresh process, empty HF cache, Hub offline,
memekit not imported."""

import json

import torch
from helpers import random_image, run_fresh_python


def test_saved_model_and_processor_load_in_a_fresh_process(model_and_processor, tmp_path):
    model, processor = model_and_processor
    model_dir = tmp_path / "model"
    model.save_pretrained(model_dir)
    processor.save_pretrained(model_dir)
    assert {"configuration_memeclip.py", "modeling_memeclip.py", "processing_meme.py"} <= {
        path.name for path in model_dir.iterdir()
    }

    images = [random_image(seed, size=(52, 38), mode=mode) for seed, mode in enumerate(["RGB", "RGBA", "P"])]
    for index, image in enumerate(images):
        image.save(tmp_path / f"meme_{index}.png")
    texts = ["first meme", None, "None"]
    inputs = processor(images=images, text=texts)
    with torch.no_grad():
        expected = model(**inputs).logits
    torch.save(dict(inputs), tmp_path / "inputs.pt")

    code = f"""
import json, sys, torch
from PIL import Image
from transformers import AutoModel, AutoProcessor
folder = {str(model_dir)!r}
model = AutoModel.from_pretrained(folder, trust_remote_code=True)
processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
images = [Image.open({str(tmp_path)!r} + f"/meme_{{i}}.png") for i in range(3)]
inputs = processor(images=images, text={texts!r})
saved = torch.load({str(tmp_path / "inputs.pt")!r})
with torch.no_grad():
    logits = model(**inputs).logits
print(json.dumps({{
    "model": [type(model).__name__, type(model).__module__],
    "processor": [type(processor).__name__, type(processor).__module__],
    "memekit_imported": any(name.startswith("memekit") for name in sys.modules),
    "frozen_clip": not any(p.requires_grad for p in model.clip.parameters()),
    "same_inputs": all(torch.equal(inputs[k], saved[k]) for k in saved),
    "logits": logits.tolist(),
    "predictions": model.predict(images, {texts!r}),
}}))
"""
    result = run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "empty_hf_home")
    assert result["model"][0] == "MemeCLIPForClassification"
    assert result["model"][1].startswith("transformers_modules.")
    assert result["processor"][0] == "MemeProcessor"
    assert result["processor"][1].startswith("transformers_modules.")
    assert not result["memekit_imported"]
    assert result["frozen_clip"]
    assert result["same_inputs"]
    torch.testing.assert_close(torch.tensor(result["logits"]), expected, rtol=0, atol=0)
    assert json.dumps(result["predictions"]) == json.dumps(model.predict(images, texts, processor=processor))


def test_clfa_with_its_processor_loads_in_a_fresh_process(tmp_path):
    from memekit.tiny import tiny_clfa_bert_vit

    model, processor = tiny_clfa_bert_vit(["not sarcastic", "sarcastic"], seed=2)
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    assert {"processing_clfa.py", "processing_meme.py", "modeling_clfa.py"} <= {
        p.name for p in (tmp_path / "model").iterdir()
    }
    image = random_image(0, size=(40, 30), mode="RGBA")
    image.save(tmp_path / "meme.png")
    with torch.no_grad():
        expected = model(**processor(images=[image], text=["oh great, another monday"])).logits
    code = f"""
import json, sys
from PIL import Image
from transformers import AutoModel, AutoProcessor
folder = {str(tmp_path / "model")!r}
model = AutoModel.from_pretrained(folder, trust_remote_code=True)
processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
inputs = processor(images=[Image.open({str(tmp_path / "meme.png")!r})], text=["oh great, another monday"])
print(json.dumps({{"processor": type(processor).__name__, "memekit": any(m.startswith("memekit") for m in sys.modules),
                  "logits": model(**inputs).logits.tolist()}}))
"""
    result = run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "hf_home")
    assert result["processor"] == "CLFAProcessor" and not result["memekit"]
    torch.testing.assert_close(torch.tensor(result["logits"]), expected, rtol=0, atol=1e-6)


def test_clfa_predicts_from_the_command_line(tmp_path, capsys):
    from memekit.cli import main
    from memekit.tiny import tiny_clfa_bert_vit

    model, processor = tiny_clfa_bert_vit(["not sarcastic", "sarcastic"], seed=3)
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    for index in range(2):
        random_image(index).save(tmp_path / f"{index}.png")
    images = [str(tmp_path / "0.png"), str(tmp_path / "1.png")]
    assert (
        main(["predict", str(tmp_path / "model"), "--images", *images, "--texts", "what a day", "None", "--json"]) == 0
    )
    records = json.loads(capsys.readouterr().out)
    expected = model.predict(images, ["what a day", "None"], processor=processor)
    assert [r["label"] for r in records] == [e["label"] for e in expected]
    assert all(set(r["probabilities"]) == {"not sarcastic", "sarcastic"} for r in records)
