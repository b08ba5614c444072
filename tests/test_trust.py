"""Nothing of the user's is deleted or changed, and nothing outside the source is read: `memekit data prepare`,
`memekit convert` and `memekit demo` on awkward outputs and inputs, through the command line, hashing the user's
files before and after."""

import dataclasses
import hashlib
import json
import os
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from data_fixtures import write_image
from test_data_custom import posts, write_posts
from test_data_pridemm import ROWS, write_release

import memekit.data
from memekit.cli import main
from memekit.data import BadInputError, load_benchmark, prepare_benchmark, write_benchmark
from memekit.dataset_scripts import BENCHMARKS
from memekit.dataset_scripts.common import Example, ReadResult, Task
from memekit.outputs import MANIFEST


def tree_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file below `folder` (symbolic links as their target path), by relative path."""
    hashes = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            hashes[name] = "link:" + os.readlink(path)
        elif path.is_file():
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def refused(argv, capsys, *fragments, one_line=True) -> str:
    """Run the CLI, expect the refusal with exit code 2 (one line, unless it lists bad rows), return it."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("memekit ") and "Traceback" not in err
    assert "\n" not in err or not one_line, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture
def release(tmp_path):
    return write_release(tmp_path / "downloads" / "PrideMM")


def prepare_argv(source, output, *extra):
    return ["data", "prepare", "pridemm", "--source", str(source), "--output", str(output), *extra]


# ----------------------------------------------------------------------------------------- prepare --overwrite
@pytest.mark.parametrize("where", ["source", "parent", "grandparent"])
def test_overwrite_never_replaces_the_source_or_a_folder_holding_it(release, where, capsys):
    output = {"source": release, "parent": release.parent, "grandparent": release.parent.parent}[where]
    (release.parent / "notes.txt").write_text("my notes")
    before = tree_hashes(output)
    relation = "is the source" if where == "source" else "contains the source"
    refused(prepare_argv(release, output, "--overwrite"), capsys, relation)
    assert tree_hashes(output) == before


def test_overwrite_refuses_a_folder_memekit_did_not_write(release, tmp_path, capsys):
    mine = tmp_path / "my_folder"
    write_image(mine / "holiday.png", seed=1)
    (mine / "README.md").write_text("my own readme")
    before = tree_hashes(mine)
    refused(prepare_argv(release, mine, "--overwrite"), capsys, "was not written by memekit", MANIFEST)
    assert tree_hashes(mine) == before
    refused(prepare_argv(release, mine), capsys, "already exists", "--overwrite")
    assert tree_hashes(mine) == before


def test_overwrite_refuses_a_prepared_folder_with_a_user_file_or_an_edit(release, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(prepare_argv(release, output)) == 0
    manifest = json.loads((output / MANIFEST).read_text())
    assert manifest["written_by"] == "memekit" and manifest["benchmark"] == "pridemm"
    assert set(manifest["files"]) == {"README.md", *(f"data/{p.name}" for p in (output / "data").iterdir())}
    assert manifest["files"]["README.md"] == hashlib.sha256((output / "README.md").read_bytes()).hexdigest()

    (output / "data" / "my_analysis.csv").write_text("a,b\n")
    before = tree_hashes(output)
    refused(prepare_argv(release, output, "--overwrite"), capsys, "did not write", "my_analysis.csv")
    assert tree_hashes(output) == before

    (output / "data" / "my_analysis.csv").unlink()
    with open(output / "README.md", "a") as card:
        card.write("\nMy notes on this dataset.\n")
    before = tree_hashes(output)
    refused(prepare_argv(release, output, "--overwrite"), capsys, "changed since memekit wrote them", "README.md")
    assert tree_hashes(output) == before


def test_overwrite_replaces_a_prepared_folder_and_a_failed_run_leaves_it_whole(release, tmp_path, monkeypatch):
    output = tmp_path / "out"
    prepare_benchmark("pridemm", release, output)
    first = tree_hashes(output)
    prepare_benchmark("pridemm", release, output, overwrite=True, seed=1)  # a prepared folder is replaceable
    assert set(tree_hashes(output)) == set(first)

    good = tree_hashes(output)
    broken = write_release(tmp_path / "broken", rows=[*ROWS, ("img_99.png", "7", "NA", "1", "1", "train", "x")])
    with pytest.raises(BadInputError):
        prepare_benchmark("pridemm", broken, output, overwrite=True)
    assert tree_hashes(output) == good  # the old card is still there

    def fail_half_way(benchmark, examples, folder):
        (folder / "data").mkdir()
        (folder / "data" / "train-00000-of-00001.parquet").write_bytes(b"half a shard")
        raise OSError("disk full")

    monkeypatch.setattr(memekit.data, "_write_parquet", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        prepare_benchmark("pridemm", release, output, overwrite=True)
    assert tree_hashes(output) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "downloads", "out"]  # no staging left behind


def test_written_folders_follow_the_umask(release, tmp_path):
    old = os.umask(0o022)
    try:
        output = prepare_benchmark("pridemm", release, tmp_path / "deep" / "out")
    finally:
        os.umask(old)
    for folder in (output, output / "data", tmp_path / "deep"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
    assert stat.S_IMODE((output / "README.md").stat().st_mode) == 0o644


def test_an_empty_existing_folder_is_used_without_overwrite(release, tmp_path):
    (tmp_path / "empty").mkdir()
    assert load_benchmark("pridemm", prepare_benchmark("pridemm", release, tmp_path / "empty"))["train"].num_rows == 8


# ------------------------------------------------------------------------------------------- outside the source
def test_image_paths_leaving_the_source_are_bad_rows(tmp_path):
    """Whatever a converter makes of an annotation row, `..`, absolute paths and symbolic links out of the source
    are refused centrally (a benchmark built at run time, as a new converter would be)."""
    secret = write_image(tmp_path / "private" / "photo.png", seed=7)
    source = tmp_path / "downloads" / "release"
    write_image(source / "img" / "ok.png", seed=1)
    (source / "img" / "link.png").symlink_to(secret)
    (source / "img" / "sub").symlink_to(secret.parent, target_is_directory=True)
    names = ["ok.png", "../../../private/photo.png", str(secret), "link.png", "sub/photo.png"]

    def read(folder, options):
        examples = [
            Example(f"m{i}", "train", folder / "img" / name, "text", {"label": i % 2}, f"memes.jsonl:{i + 1}")
            for i, name in enumerate(names)
        ]
        return ReadResult(examples=examples)

    benchmark = dataclasses.replace(BENCHMARKS["pridemm"], tasks=(Task("label", ("a", "b"), ("accuracy",)),), read=read)
    with pytest.raises(BadInputError) as error:
        write_benchmark(benchmark, source, tmp_path / "out")
    assert str(error.value).count("is outside the source folder") == 4
    assert str(tmp_path / "private") not in str(error.value)  # names relative to the source, or the file name only
    assert not (tmp_path / "out").exists()

    output = write_benchmark(benchmark, source, tmp_path / "out", skip_bad=True)
    card = (output / "README.md").read_text()
    assert "4 rows could not be converted" in card and str(tmp_path) not in card
    table = pq.read_table(next((output / "data").glob("train-*.parquet")))
    assert table.column("id").to_pylist() == ["m0"]
    assert secret.read_bytes() not in [cell["bytes"] for cell in table.column("image").to_pylist()]


def test_a_symbolic_link_out_of_a_real_release_is_a_bad_row(release, tmp_path, capsys):
    secret = write_image(tmp_path / "private" / "photo.png", seed=7)
    (release / "Images" / "img_1.png").unlink()
    (release / "Images" / "img_1.png").symlink_to(secret)
    refused(prepare_argv(release, tmp_path / "out"), capsys, "img_1.png", "outside the source", one_line=False)
    assert main(prepare_argv(release, tmp_path / "out", "--skip-bad")) == 0
    assert "img_1" not in load_benchmark("pridemm", tmp_path / "out")["train"]["id"]


def test_custom_images_must_lie_inside_the_files_folder_or_the_image_root(tmp_path, capsys):
    rows = posts(12, with_split=True)
    source = write_posts(tmp_path / "mine", rows)
    secret = write_image(tmp_path / "elsewhere" / "photo.png", seed=3)
    rows[0]["image"], rows[1]["image"] = "../elsewhere/photo.png", str(secret)
    write_posts(tmp_path / "mine", rows)
    argv = ["data", "prepare", "custom", "--source", str(source), "--label-columns", "stance", "--split-column",
            "split"]  # fmt: skip
    refused([*argv, "--output", str(tmp_path / "out")], capsys, "outside the source folder", one_line=False)
    assert not (tmp_path / "out").exists()

    # With --image-root, paths are relative to that folder, and absolute ones inside it are fine; ids never hold
    # absolute paths.
    for row in rows[2:]:
        row["image"] = "mine/" + row["image"]
    rows[0]["image"], rows[1]["image"] = "elsewhere/photo.png", str((tmp_path / "mine" / "pics" / "1.png").resolve())
    write_posts(tmp_path / "mine", rows)
    assert main([*argv, "--output", str(tmp_path / "out"), "--image-root", str(tmp_path)]) == 0
    ids = {i for split in load_benchmark("custom", tmp_path / "out").values() for i in split["id"]}
    assert {"elsewhere/photo.png", "mine/pics/1.png", "mine/pics/2.png"} <= ids
    assert not any(Path(i).is_absolute() for i in ids)


# ------------------------------------------------------------------------------------------------------- demo
def test_demo_refuses_subfolders_it_did_not_write_and_keeps_the_users_files(tmp_path, capsys):
    demo = tmp_path / "demo"
    write_image(demo / "data" / "my_photo.png", seed=0)
    (demo / "notes.txt").write_text("mine")
    before = tree_hashes(demo)
    refused(["demo", "--output", str(demo)], capsys, "data", "was not written by memekit")
    assert tree_hashes(demo) == before


# ---------------------------------------------------------------------------------------- custom labels, predict
def test_custom_label_cells_that_are_no_class_are_bad_rows_and_classes_can_be_declared(tmp_path, capsys, caplog):
    rows = posts(30, with_split=True)
    rows[3]["score"], rows[4]["score"], rows[6]["score"] = "inf", "NaN", "1.5"
    rows[7]["score"] = "2.0"  # an integer written as pandas writes it: class "2"
    rows[8]["stance"] = "fro"  # a typo
    source = write_posts(tmp_path / "mine", rows)
    argv = ["data", "prepare", "custom", "--source", str(source), "--label-columns", "stance", "score",
            "--split-column", "split"]  # fmt: skip
    err = refused([*argv, "--output", str(tmp_path / "out")], capsys, one_line=False)
    assert "posts.csv:5: label 'inf' of column 'score' is not a finite number" in err
    assert "posts.csv:6: label 'NaN' of column 'score' is not a finite number" in err
    assert "posts.csv:8: label '1.5' of column 'score' is not an integer" in err
    assert not (tmp_path / "out").exists()

    assert main([*argv, "--output", str(tmp_path / "out"), "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert "Class counts of 'stance' per split:" in captured.out and "fro" in captured.out
    assert "fewer than two training examples" in caplog.text and "['fro']" in caplog.text
    dataset = load_benchmark("custom", tmp_path / "out")
    assert dataset["train"].features["score"].names == ["1", "2", "10"]
    assert dataset["train"].features["stance"].names == ["against", "for", "fro", "neutral"]

    declared = [*argv, "--output", str(tmp_path / "declared"), "--classes", "stance=for,against,neutral",
                "score=1,2,10"]  # fmt: skip
    err = refused(declared, capsys, one_line=False)
    assert "posts.csv:10: label 'fro' of column 'stance' is not one of the declared classes" in err
    assert main([*declared, "--skip-bad"]) == 0
    features = load_benchmark("custom", tmp_path / "declared")["train"].features
    assert features["stance"].names == ["for", "against", "neutral"]  # the declared order


def test_predict_refuses_bad_images_naming_the_row_like_prepare(saved_tiny_model, tmp_path, capsys, monkeypatch):
    from PIL import Image

    write_image(tmp_path / "memes" / "ok.png", seed=0, size=(40, 30))
    write_image(tmp_path / "memes" / "big.png", seed=1, size=(60, 50))
    (tmp_path / "memes" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    lines = [{"image": "ok.png", "text": "a"}, {"image": "big.png", "text": "b"}]
    (tmp_path / "memes" / "memes.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)
    argv = ["predict", str(saved_tiny_model), "--input", str(tmp_path / "memes" / "memes.jsonl")]
    err = refused(argv, capsys, "memes.jsonl:2", "big.png looks like a decompression bomb", "limit of 2000 pixels")
    # The same message as `memekit data prepare` gives for the same file.
    problem = memekit.data.image_problem(tmp_path / "memes" / "big.png", 2000, tmp_path / "memes")
    assert problem in err

    (tmp_path / "memes" / "memes.jsonl").write_text('{"image": "ok.png"}\n\n{"image": null, "text": "x"}\n')
    refused(argv, capsys, "memes.jsonl:3", "`image` must be a path")
    (tmp_path / "memes" / "memes.jsonl").write_text('{"image": "broken.jpg", "text": "x"}\n')
    refused(argv, capsys, "memes.jsonl:1", "broken.jpg", "cannot be decoded")
    refused(["predict", str(saved_tiny_model), "--images", str(tmp_path / "memes" / "big.png"), "--texts", "b"],
            capsys, "`--images` entry 1", "big.png looks like a decompression bomb")  # fmt: skip


def test_predict_reads_csv_with_a_byte_order_mark(saved_tiny_model, tmp_path, capsys):
    write_image(tmp_path / "memes" / "ok.png", seed=0)
    for encoding in ("utf-8-sig", "utf-16"):
        (tmp_path / "memes" / "memes.csv").write_text("image,text\nok.png,hello\n", encoding=encoding)
        capsys.readouterr()
        assert main(["predict", str(saved_tiny_model), "--input", str(tmp_path / "memes" / "memes.csv"), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)[0]["text"] == "hello"


@pytest.fixture
def saved_tiny_model(model_and_processor, tmp_path):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    return tmp_path / "model"
