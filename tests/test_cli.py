import json

import pytest
from helpers import LABELS, random_image

from memekit.cli import main


def test_demo_prints_a_prediction_for_every_sample_meme(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for name in ["cat_keyboard.png", "green_build.png", "palette_frog.png", "grey_monday.png"]:
        assert name in out
    assert "random" in out  # the demo says its model is untrained


def test_demo_json_is_deterministic(capsys):
    main(["demo", "--json"])
    first = json.loads(capsys.readouterr().out.split("\n\n", 1)[1])
    main(["demo", "--json"])
    second = json.loads(capsys.readouterr().out.split("\n\n", 1)[1])
    assert first == second
    assert len(first) == 4
    assert all(record["label"] in LABELS for record in first)
    assert first[3]["text"] == "None"


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
