"""The benchmark machinery itself (card, loading, atomic and idempotent writes, CLI), on the PrideMM converter."""

import hashlib

import pytest
import yaml
from data_fixtures import write_large_image, write_truncated_jpeg
from helpers import run_fresh_python
from test_data_pridemm import ROWS, write_release

import memekit.data
from memekit.cli import main as cli_main
from memekit.data import BadInputError, load_benchmark, prepare_benchmark
from memekit.dataset_scripts import BENCHMARKS


@pytest.fixture
def prepared(tmp_path):
    release = write_release(tmp_path / "PrideMM")
    return release, prepare_benchmark("pridemm", release, tmp_path / "out")


def card_yaml(folder):
    text = (folder / "README.md").read_text()
    return yaml.safe_load(text.split("---\n")[1]), text


def test_card_declares_configs_features_splits_licence_and_counts(prepared):
    _, output = prepared
    meta, text = card_yaml(output)
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "train", "path": "data/train-*.parquet"},
                {"split": "validation", "path": "data/validation-*.parquet"},
                {"split": "test", "path": "data/test-*.parquet"},
            ],
        }
    ]
    features = {feature["name"]: feature["dtype"] for feature in meta["dataset_info"]["features"]}
    assert features["id"] == "string" and features["image"] == "image" and features["text"] == "string"
    assert features["target"] == {
        "class_label": {"names": {"0": "Undirected", "1": "Individual", "2": "Community", "3": "Organization"}}
    }
    splits = {split["name"]: split["num_examples"] for split in meta["dataset_info"]["splits"]}
    assert splits == {"train": 8, "validation": 2, "test": 3}
    assert meta["license"] == "other" and meta["pretty_name"] == "PrideMM"
    assert "@inproceedings{shah2024memeclip" in text
    assert "Licence and terms of the original release" in text
    assert "| Hate | 4 | 1 | 1 |" in text  # class counts per split
    assert "| (no label: -1) | 4 | 1 | 2 |" in text
    assert "No row was dropped as unconvertible (bad input)." in text


def test_plain_load_dataset_works_offline_in_a_fresh_process(prepared, tmp_path):
    _, output = prepared
    code = f"""
import json
from datasets import load_dataset
dataset = load_dataset({str(output)!r})
train = dataset["train"]
print(json.dumps({{
    "splits": {{k: len(v) for k, v in dataset.items()}},
    "stance": train.features["stance"].names,
    "image": type(train[0]["image"]).__name__,
    "text": train["text"][1],
    "target": train["target"][:3],
}}))
"""
    result = run_fresh_python(code, cwd=tmp_path, hf_home=tmp_path / "fresh_hf_home")
    assert result == {
        "splits": {"train": 8, "validation": 2, "test": 3},
        "stance": ["Neutral", "Support", "Oppose"],
        "image": "PngImageFile",
        "text": "None",
        "target": [-1, 2, 0],
    }


def test_the_folder_is_self_contained(prepared, tmp_path):
    release, output = prepared
    for image in (release / "Images").iterdir():
        image.unlink()
    dataset = load_benchmark("pridemm", output)
    assert dataset["test"][2]["image"].size == (24, 20)


def test_re_running_is_idempotent(prepared, tmp_path):
    release, output = prepared

    def digest(folder):
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.rglob("*.*"))}

    first = digest(output)
    prepare_benchmark("pridemm", release, output, overwrite=True)
    assert digest(output) == first


def test_an_existing_output_is_not_overwritten(prepared):
    release, output = prepared
    before = (output / "README.md").read_text()
    with pytest.raises(FileExistsError, match="overwrite"):
        prepare_benchmark("pridemm", release, output)
    assert (output / "README.md").read_text() == before


def test_reloading_a_re_prepared_folder_gives_the_new_data(prepared, tmp_path):
    release, output = prepared
    assert load_benchmark("pridemm", output)["train"]["text"][0] == ROWS[0][6]
    changed = write_release(tmp_path / "changed", rows=[(*ROWS[0][:6], "a new caption"), *ROWS[1:]])
    prepare_benchmark("pridemm", changed, output, overwrite=True)
    assert load_benchmark("pridemm", output)["train"]["text"][0] == "a new caption"


def test_no_partial_output_on_failure(tmp_path, monkeypatch):
    release = write_release(tmp_path / "PrideMM")

    def fail(*args, **kwargs):
        (args[2] / "data").mkdir()
        (args[2] / "data" / "half-written.parquet").write_bytes(b"PAR1")
        raise RuntimeError("disk full")

    monkeypatch.setattr(memekit.data, "_write_parquet", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        prepare_benchmark("pridemm", release, tmp_path / "out")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["PrideMM"]


def test_decompression_bombs_are_rejected(tmp_path):
    release = write_release(tmp_path / "PrideMM")
    write_large_image(release / "Images" / "img_3.png", size=(400, 300))
    with pytest.raises(BadInputError, match="img_3.png is 400x300 pixels, over the decompression-bomb limit"):
        prepare_benchmark("pridemm", release, tmp_path / "out", max_image_pixels=100_000)
    prepare_benchmark("pridemm", release, tmp_path / "out", max_image_pixels=200_000)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="Unknown benchmark 'prydemm'"):
        prepare_benchmark("prydemm", tmp_path, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="source"):
        prepare_benchmark("pridemm", tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="memekit data prepare pridemm"):
        load_benchmark("pridemm", tmp_path)


def test_registry_describes_every_task():
    for name, benchmark in BENCHMARKS.items():
        assert benchmark.name == name
        assert benchmark.tasks and benchmark.citation.strip().startswith("@")
        for task in benchmark.tasks:
            assert len(set(task.class_names)) == task.num_labels >= 2
            assert task.metrics and task.report_split in benchmark.splits


def test_command_line(tmp_path, capsys):
    release = write_release(tmp_path / "PrideMM", rows=[*ROWS, ("img_99.png", "1", "9", "0", "0", "train", "bad")])
    out = str(tmp_path / "out")
    assert cli_main(["data", "prepare", "pridemm", "--source", str(release), "--output", out]) == 2
    assert "target label '9' outside 0..3" in capsys.readouterr().err
    assert cli_main(["data", "prepare", "pridemm", "--source", str(release), "--output", out, "--skip-bad"]) == 0
    assert "Prepared pridemm" in capsys.readouterr().out
    assert cli_main(["data", "prepare", "pridemm", "--source", str(release), "--output", out]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert cli_main(["data", "list"]) == 0
    assert "pridemm" in capsys.readouterr().out


def test_cards_name_images_relative_to_the_release(tmp_path):
    release = write_release(tmp_path / "PrideMM", rows=[("img_1.jpg", *ROWS[0][1:]), *ROWS[1:]])
    write_truncated_jpeg(release / "Images" / "img_1.jpg")
    (release / "Images" / "img_2.png").unlink()
    prepare_benchmark("pridemm", release, tmp_path / "out", skip_bad=True)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "image Images/img_1.jpg cannot be decoded" in card and "image 'Images/img_2.png' not found" in card
    assert str(tmp_path) not in card


def test_text_decoding_falls_back_line_by_line():
    from memekit.dataset_scripts.common import decode_text

    mixed = (
        "caf\u00e9 in UTF-8\n".encode()
        + "na\u00efve in cp1252 \u201cquoted\u201d\n".encode("cp1252")
        + b"\x81 latin-1\n"
    )
    assert (
        decode_text(b"\xef\xbb\xbf" + mixed)
        == "caf\u00e9 in UTF-8\nna\u00efve in cp1252 \u201cquoted\u201d\n\u0081 latin-1\n"
    )
    assert decode_text("plain \u00e9".encode()) == "plain \u00e9"
