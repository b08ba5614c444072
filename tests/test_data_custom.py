import csv
import json

import pytest
from data_fixtures import write_image, write_truncated_jpeg

from memekit.cli import main as cli_main
from memekit.data import BadInputError, load_benchmark, prepare_custom
from memekit.tiny import tiny_memeclip


def write_posts(root, rows, name="posts.csv"):
    """A user's file: image paths relative to it, a text, two label columns, and the images."""
    root.mkdir(parents=True, exist_ok=True)
    for index, row in enumerate(rows):
        if not (root / row["image"]).exists() and row["image"]:
            write_image(root / row["image"], seed=index)
    if name.endswith(".csv"):
        with open(root / name, "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        (root / name).write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return root / name


def posts(count=40, with_split=False):
    rows = []
    for index in range(count):
        row = {
            "image": f"pics/{index}.png",
            "text": ["None", "a post", "", "NaN"][index % 4],
            "stance": ["against", "for", "neutral"][index % 3],
            "score": str([1, 2, 10][index % 3]) if index % 5 else "",
        }
        if with_split:
            row["split"] = ["train", "train", "val", "test"][index % 4]
        rows.append(row)
    return rows


def test_labels_texts_and_seeded_stratified_split(tmp_path):
    source = write_posts(tmp_path / "mine", posts())
    dataset = load_benchmark("custom", prepare_custom(source, tmp_path / "out", ["stance", "score"], seed=1))
    assert sum(len(split) for split in dataset.values()) == 40
    train = dataset["train"]
    assert train.features["stance"].names == ["against", "for", "neutral"]
    assert train.features["score"].names == ["1", "2", "10"]  # numbers in numeric order
    rows = {row["id"]: row for split in dataset.values() for row in split}
    assert rows["pics/0.png"]["text"] == "None" and rows["pics/3.png"]["text"] == "NaN"
    assert rows["pics/2.png"]["text"] == ""
    assert rows["pics/5.png"]["score"] == -1 and rows["pics/1.png"]["score"] == 1
    # 8:1:1 within each stance class (14, 13, 13 rows: one validation and one test row each).
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 34, "validation": 3, "test": 3}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "seed 1" in card and "image column `image`" in card
    again = load_benchmark("custom", prepare_custom(source, tmp_path / "again", ["stance", "score"], seed=1))
    assert list(again["test"]["id"]) == list(dataset["test"]["id"])


def test_split_column_and_jsonl(tmp_path):
    source = write_posts(tmp_path / "mine", posts(with_split=True), name="posts.jsonl")
    dataset = load_benchmark("custom", prepare_custom(source, tmp_path / "out", ["stance"], split_column="split"))
    assert {split: len(rows) for split, rows in dataset.items()} == {"train": 20, "validation": 10, "test": 10}


def test_bad_input_rules(tmp_path):
    rows = posts()
    rows[3]["image"] = "pics/missing.png"
    rows[4]["image"] = "pics/broken.jpg"
    rows[5]["image"] = "pics/0.png"  # the same post twice: duplicate id
    source = write_posts(tmp_path / "mine", rows)
    (tmp_path / "mine" / "pics" / "missing.png").unlink()
    write_truncated_jpeg(tmp_path / "mine" / "pics" / "broken.jpg")
    with pytest.raises(BadInputError, match="^3 rows") as error:
        prepare_custom(source, tmp_path / "out", ["stance"])
    assert "posts.csv:5" in str(error.value) and "duplicate id 'pics/0.png'" in str(error.value)
    assert not (tmp_path / "out").exists()
    dataset = load_benchmark("custom", prepare_custom(source, tmp_path / "out", ["stance"], skip_bad=True))
    assert sum(len(split) for split in dataset.values()) == 37


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"label_columns": ["colour"]}, ValueError, "no column \\['colour'\\]"),
        ({"label_columns": []}, ValueError, "label_columns"),
        ({"label_columns": ["stance"], "image_column": "picture"}, ValueError, "picture"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, fragment):
    source = write_posts(tmp_path / "mine", posts())
    with pytest.raises(error, match=fragment):
        prepare_custom(source, tmp_path / "out", **kwargs)
    with pytest.raises(FileNotFoundError, match="source"):
        prepare_custom(tmp_path / "nothing.csv", tmp_path / "out", ["stance"])


def test_train_on_custom_data_with_objectives_through_the_command_line(tmp_path):
    source = write_posts(tmp_path / "mine", posts(60))
    out = tmp_path / "data"
    code = cli_main(["data", "prepare", "custom", "--source", str(source), "--output", str(out),
                     "--label-columns", "stance"])  # fmt: skip
    assert code == 0
    model, processor = tiny_memeclip(["against", "for", "neutral"])
    model.save_pretrained(tmp_path / "init")
    processor.save_pretrained(tmp_path / "init")
    code = cli_main(
        ["train", "--dataset", "custom", "--data-dir", str(out), "--task", "stance",
         "--init-from", str(tmp_path / "init"), "--epochs", "2", "--batch-size", "8",
         "--objectives", "itc:0.1", "itm:0.1",
         "--output-dir", str(tmp_path / "run"), "--feature-cache-dir", str(tmp_path / "cache")]
    )  # fmt: skip
    assert code == 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["seeds"] == [42]
    card = (tmp_path / "run" / "seed_42" / "model" / "README.md").read_text()
    assert "custom: posts.csv" in card
