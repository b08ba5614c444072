import json
from pathlib import Path

import pytest
from helpers import random_image

from memekit.cli import main


def test_demo_trains_a_model_that_beats_chance(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path / "demo"), "--json"]) == 0
    out = capsys.readouterr().out
    release = tmp_path / "demo" / "run" / "seed_0" / "model"
    assert str(release) in out and "chance: 0.50" in out
    test = json.loads((release / "eval_results.json").read_text())["test"]
    assert test["num_examples"] == 120
    assert [test["per_class"][name]["support"] for name in ("mismatch", "match")] == [60, 60]
    assert test["accuracy"] >= 0.8  # chance is 0.5: the label needs both the picture and the caption
    assert f"accuracy {test['accuracy']:.3f}" in out

    predictions = json.loads(out[out.index("\n[") :])
    assert [Path(p["image"]).name for p in predictions] == [
        "red_rgb.png",
        "yellow_rgba.png",
        "green_palette.png",
        "blue_cmyk.jpg",
    ]
    assert all(p["label"] in {"match", "mismatch"} and "expected" in p for p in predictions)


@pytest.fixture
def saved_model(model_and_processor, tmp_path):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    memes = tmp_path / "memes"
    memes.mkdir()
    for index in range(3):
        random_image(index).save(memes / f"{index}.png")
    return tmp_path / "model", memes, model, processor


def test_predict_from_a_jsonl_file_matches_the_python_api(saved_model, capsys):
    model_dir, memes, model, processor = saved_model
    rows = [{"image": f"{i}.png", "text": text} for i, text in enumerate(["first", None, "third"])]
    (memes / "memes.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")

    assert main(["predict", str(model_dir), "--input", str(memes / "memes.jsonl"), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    expected = model.predict(
        [str(memes / f"{i}.png") for i in range(3)], ["first", None, "third"], processor=processor
    )
    assert [r["label"] for r in records] == [e["label"] for e in expected]
    assert [r["score"] for r in records] == pytest.approx([e["score"] for e in expected], abs=1e-6)


def test_predict_from_a_csv_keeps_the_text_none(saved_model, capsys):
    model_dir, memes, _, _ = saved_model
    (memes / "memes.csv").write_text("image,text\n0.png,None\n1.png,NA\n")
    assert main(["predict", str(model_dir), "--input", str(memes / "memes.csv"), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["text"] for r in records] == ["None", "NA"]


def test_predict_from_arguments_prints_a_table(saved_model, capsys):
    model_dir, memes, _, _ = saved_model
    code = main(
        ["predict", str(model_dir), "--images", str(memes / "0.png"), str(memes / "1.png"), "--texts", "a", "b"]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["image", "text", "label", "score"]
    assert len(lines) == 4


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--images", "x.png", "y.png", "--texts", "a"], "2 images but 1 texts"),
        (["--input", "/no/such/file.jsonl"], "file.jsonl"),
        ([], "Nothing to predict"),
    ],
)
def test_predict_reports_bad_input(saved_model, capsys, extra, fragment):
    model_dir = saved_model[0]
    assert main(["predict", str(model_dir), *extra]) == 2
    assert fragment in capsys.readouterr().err
