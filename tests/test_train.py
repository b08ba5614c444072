import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from test_data_pridemm import write_release
from transformers import AutoModel, AutoProcessor

import memekit.train
from memekit import MemeCLIPForClassification
from memekit.cli import main as cli_main
from memekit.data import prepare_benchmark
from memekit.tiny import tiny_memeclip


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A prepared PrideMM fixture and a tiny MemeCLIP (with processor) for its hate task."""
    root = tmp_path_factory.mktemp("train")
    data = prepare_benchmark("pridemm", write_release(root / "PrideMM"), root / "data")
    model, processor = tiny_memeclip(["No Hate", "Hate"], seed=0)
    model.save_pretrained(root / "init")
    processor.save_pretrained(root / "init")
    return {"data": data, "init": root / "init"}


def train_args(prepared, output, cache, *extra):
    return [
        "--dataset", "pridemm", "--task", "hate", "--data-dir", str(prepared["data"]),
        "--init-from", str(prepared["init"]), "--output-dir", str(output), "--feature-cache-dir", str(cache),
        "--batch-size", "4", "--epochs", "2", "--learning-rate", "1e-3", *extra,
    ]  # fmt: skip


def test_two_epoch_run_through_the_command_line(prepared, tmp_path):
    output = tmp_path / "run"
    assert cli_main(["train", *train_args(prepared, output, tmp_path / "cache"), "--compat-metrics", "memeclip"]) == 0

    summary = json.loads((output / "summary.json").read_text())
    assert summary["seeds"] == [42] and set(summary["test_accuracy"]) == {"mean", "std", "values"}
    release = output / "seed_42" / "model"
    for name in ("config.json", "model.safetensors", "processor_config.json", "eval_results.json", "README.md"):
        assert (release / name).is_file(), name
    assert (release / "confusion_matrix.png").stat().st_size > 1000
    assert (release / "training_curve.png").stat().st_size > 1000

    results = json.loads((release / "eval_results.json").read_text())
    assert results["test"]["num_examples"] == 3 and results["validation"]["num_examples"] == 2
    assert [record["epoch"] for record in results["history"]] == [0, 1]
    assert set(results["test"]["compat_memeclip"]) == {
        "accuracy",
        "auroc_batch_mean",
        "macro_f1_batch_mean",
        "batch_size",
    }
    assert results["test"]["accuracy"] == summary["test_accuracy"]["values"][0]

    card = (release / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert "base_model" not in meta  # started from a local folder (`init_from`): no Hub base model to name
    metrics = meta["model-index"][0]["results"][0]["metrics"]
    assert {metric["type"] for metric in metrics} >= {"accuracy", "macro_f1", "weighted_f1"}
    assert "learning_rate: 0.001" in card and "Terms of the original release" in card and "limitations" in card
    assert "no EXIF rotation" in card and "without it its repairs are skipped" in card  # how to feed the model

    model = AutoModel.from_pretrained(release)
    assert isinstance(model, MemeCLIPForClassification)
    assert model.predict([str(next((prepared["data"]).parent.glob("PrideMM/Images/*.png")))], ["x"])[0]["label"] in {
        "No Hate",
        "Hate",
    }


def test_the_feature_cache_is_reused_and_invalidated(prepared, tmp_path, monkeypatch):
    calls = []
    original = MemeCLIPForClassification.get_image_embeds

    def counting(self, pixel_values):
        calls.append(len(pixel_values))
        return original(self, pixel_values)

    monkeypatch.setattr(MemeCLIPForClassification, "get_image_embeds", counting)
    cache = tmp_path / "cache"
    memekit.train.main(train_args(prepared, tmp_path / "first", cache))
    assert sum(calls) == 13  # every meme of the three splits, once, although two epochs ran
    calls.clear()
    memekit.train.main(train_args(prepared, tmp_path / "second", cache, "--seeds", "1"))
    assert calls == []  # cache hit: CLIP not called for another run and seed

    clip_mode = tmp_path / "clip_mode"
    model = AutoModel.from_pretrained(prepared["init"])
    from memekit.tiny import tiny_meme_processor

    model.save_pretrained(clip_mode)
    tiny_meme_processor(image_mode="clip").save_pretrained(clip_mode)
    args = train_args(prepared, tmp_path / "third", cache)
    args[args.index("--init-from") + 1] = str(clip_mode)
    memekit.train.main(args)
    assert sum(calls) == 13  # another preprocessing: a miss


def test_resume_continues_to_the_same_weights(prepared, tmp_path, monkeypatch):
    args = train_args(prepared, tmp_path / "uninterrupted", tmp_path / "cache", "--epochs", "3")
    memekit.train.main(args)

    evaluations = {"count": 0}
    original = memekit.train.predict_split

    def interrupt_in_the_second_epoch(*inner, **kwargs):
        evaluations["count"] += 1
        if evaluations["count"] == 2:
            raise KeyboardInterrupt
        return original(*inner, **kwargs)

    interrupted = train_args(prepared, tmp_path / "interrupted", tmp_path / "cache", "--epochs", "3")
    monkeypatch.setattr(memekit.train, "predict_split", interrupt_in_the_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        memekit.train.main(interrupted)
    checkpoints = sorted(p.name for p in (tmp_path / "interrupted" / "seed_42" / "checkpoints").iterdir())
    assert checkpoints == ["epoch_0000"]  # the interrupted epoch left nothing half-written
    monkeypatch.setattr(memekit.train, "predict_split", original)
    memekit.train.main([*interrupted, "--resume"])

    for name in ("checkpoints/epoch_0002/model.safetensors", "model/model.safetensors"):
        a = load_file(tmp_path / "uninterrupted" / "seed_42" / name)
        b = load_file(tmp_path / "interrupted" / "seed_42" / name)
        assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a), name
    history = json.loads((tmp_path / "interrupted" / "seed_42" / "model" / "eval_results.json").read_text())["history"]
    assert [record["epoch"] for record in history] == [0, 1, 2]


def test_seeds_are_summarised_with_mean_and_std(prepared, tmp_path):
    summary = memekit.train.main(train_args(prepared, tmp_path / "run", tmp_path / "cache", "--seeds", "0", "1"))
    values = summary["test_macro_f1"]["values"]
    assert len(values) == 2 and summary["seeds"] == [0, 1]
    assert summary["test_macro_f1"]["mean"] == pytest.approx(sum(values) / 2)
    assert (tmp_path / "run" / "seed_0" / "model").is_dir() and (tmp_path / "run" / "seed_1" / "model").is_dir()


def test_recipes_load_and_command_line_overrides_win(tmp_path):
    config = memekit.train.parse_args(
        ["--config", "configs/cdglt/metmeme_offensiveness.yaml", "--data-dir", "x", "--learning-rate", "5e-4"]
    )
    assert (config.model, config.batch_size, config.cosine_cycles, config.eta_min) == ("cdglt", 96, 5, 5e-6)
    assert config.learning_rate == 5e-4 and config.early_stopping_patience == 20 and config.peft == "cdglt_ln_tuning"
    for recipe in Path("configs").rglob("*.yaml"):
        memekit.train.parse_args(["--config", str(recipe), "--data-dir", "x"])  # every recipe is valid
    ablation = memekit.train.parse_args(
        ["--config", "configs/ablations/memeclip_harmeme_c_itc_itm.yaml", "--data-dir", "x"]
    )
    assert ablation.objectives == ["itc:0.1", "itm:0.1"] and ablation.dataset == "harmeme-c"  # the base's fields
    assert ablation.output_dir == "outputs/ablations/memeclip_harmeme_c_itc_itm"

    bad = tmp_path / "bad.yaml"
    bad.write_text("model: memeclip\nlearning_rat: 0.1\n")
    with pytest.raises(ValueError, match="unknown fields \\['learning_rat'\\]"):
        memekit.train.parse_args(["--config", str(bad), "--data-dir", "x"])
    with pytest.raises(ValueError, match="scheduler"):
        memekit.train.parse_args(["--data-dir", "x", "--scheduler", "linear"])
    with pytest.raises(ValueError, match="data_dir"):
        memekit.train.parse_args([])


def test_evaluate_command(prepared, tmp_path, capsys):
    release = tmp_path / "release"
    model, processor = tiny_memeclip(["No Hate", "Hate"], seed=1)
    model.save_pretrained(release)
    processor.save_pretrained(release)
    code = cli_main(["evaluate", str(release), "--data", str(prepared["data"]), "--output", str(tmp_path / "report")])
    assert code == 0
    out = capsys.readouterr().out
    assert "pridemm / hate / test (3 examples)" in out and "confusion matrix" in out
    report = json.loads((tmp_path / "report" / "eval_results.json").read_text())
    assert report["num_examples"] == 3 and (tmp_path / "report" / "confusion_matrix.png").is_file()


def test_push_uploads_the_release_folder(prepared, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    release = tmp_path / "release"
    model, processor = tiny_memeclip(["No Hate", "Hate"])
    model.save_pretrained(release)
    processor.save_pretrained(release)
    (release / "README.md").write_text("---\nlicense: mit\n---\n# card\n")
    calls = {}

    def create_repo(self, repo_id, **kwargs):
        calls["create_repo"] = (repo_id, kwargs)

    def upload_folder(self, folder_path, repo_id, **kwargs):
        calls["upload"] = (repo_id, kwargs)
        calls["files"] = sorted(path.name for path in Path(folder_path).iterdir())
        calls["card"] = (Path(folder_path) / "README.md").read_text()
        return type("Commit", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/abc"})()

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    assert cli_main(["push", str(release), "me/memeclip-hate", "--private"]) == 0
    assert calls["create_repo"] == ("me/memeclip-hate", {"private": True, "exist_ok": True, "repo_type": "model"})
    assert {"config.json", "model.safetensors", "modeling_memeclip.py", "README.md", "tokenizer.json"} <= set(
        calls["files"]
    )
    assert calls["upload"] == ("me/memeclip-hate", {"repo_type": "model", "commit_message": "Upload memekit model"})
    assert calls["card"].startswith("---\nlicense: mit")


@pytest.mark.skipif(sys.platform != "linux", reason="CPU DDP recipe tested on Linux")
def test_two_process_ddp_run(prepared, tmp_path):
    env = {**os.environ, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "examples/train.py", *train_args(prepared, tmp_path / "ddp", tmp_path / "cache"),
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "ddp" / "seed_42" / "model" / "eval_results.json").read_text())
    assert results["num_processes"] == 2 and results["distributed_type"] == "DistributedType.MULTI_CPU"
    # Every sample counted exactly once although 2 and 3 do not split evenly over 2 processes.
    assert results["validation"]["num_examples"] == 2 and results["test"]["num_examples"] == 3
    assert sum(sum(row) for row in results["test"]["confusion_matrix"]) == 3
    cached = list((tmp_path / "cache").rglob("train.safetensors"))
    assert len(cached) == 1 and load_file(cached[0])["image_embeds"].shape[0] == 8


def test_cdglt_with_layer_norm_tuning_trains_and_releases_a_plain_model(tmp_path):
    from memekit import CDGLTForClassification
    from memekit.tiny import tiny_cdglt

    root = tmp_path
    data = prepare_benchmark("pridemm", write_release(root / "PrideMM"), root / "data")
    model, processor = tiny_cdglt(["Neutral", "Support", "Oppose"], seed=0)
    model.save_pretrained(root / "init")
    processor.save_pretrained(root / "init")
    args = [
        "--model", "cdglt", "--dataset", "pridemm", "--task", "stance", "--data-dir", str(data),
        "--init-from", str(root / "init"), "--peft", "cdglt_ln_tuning", "--scheduler", "cosine_cycles",
        "--cosine-cycles", "2", "--eta-min", "5e-6", "--epochs", "4", "--batch-size", "4", "--weight-decay", "1e-2",
        "--compat-metrics", "cdglt", "--output-dir", str(root / "run"), "--feature-cache-dir", str(root / "cache"),
    ]  # fmt: skip
    memekit.train.main(args)
    release = root / "run" / "seed_42" / "model"
    results = json.loads((release / "eval_results.json").read_text())
    assert "weighted_f1_harmonic" in results["test"]["compat_cdglt"]
    learning_rates = [record["lr"] for record in results["history"]]
    assert learning_rates[0] == pytest.approx(1e-4) and learning_rates[2] == pytest.approx(5e-6)  # T_max = 4 // 2
    released = AutoModel.from_pretrained(release)
    assert type(released) is CDGLTForClassification
    assert "base_model" not in "".join(load_file(release / "model.safetensors"))  # merged and unwrapped


def test_early_stopping(prepared, tmp_path):
    args = train_args(prepared, tmp_path / "run", tmp_path / "cache", "--epochs", "20", "--learning-rate", "0")
    memekit.train.main([*args, "--early-stopping-patience", "3", "--selection-metric", "accuracy"])
    results = json.loads((tmp_path / "run" / "seed_42" / "model" / "eval_results.json").read_text())
    assert len(results["history"]) == 4 and results["best_epoch"] == 0  # nothing learns at lr 0: stop after 1 + 3


def test_sigterm_leaves_a_resumable_state(prepared, tmp_path):
    import signal
    import time

    args = train_args(prepared, tmp_path / "run", tmp_path / "cache", "--epochs", "120")
    log = open(tmp_path / "train.log", "w")  # a file, not a pipe: a full pipe would block the run
    process = subprocess.Popen([sys.executable, "-m", "memekit.cli", "train", *args], stdout=log, stderr=log)
    checkpoints = tmp_path / "run" / "seed_42" / "checkpoints"
    deadline = time.time() + 900  # the first imports in a new environment can take minutes
    # Old checkpoints are pruned as new ones come: wait for any complete one to exist.
    while not list(checkpoints.glob("epoch_*")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=300)
    log.close()
    assert process.returncode != 0, (tmp_path / "train.log").read_text()[-2000:]
    saved = sorted(path.name for path in checkpoints.glob("epoch_*"))
    assert saved and int(saved[-1].split("_")[1]) < 119  # stopped early, with complete checkpoints only
    assert not (tmp_path / "run" / "seed_42" / "model").exists()

    assert cli_main(["train", *args, "--resume"]) == 0
    history = json.loads((tmp_path / "run" / "seed_42" / "model" / "eval_results.json").read_text())["history"]
    assert [record["epoch"] for record in history] == list(range(120))


def test_clfa_trains_with_its_alignment_and_the_auxiliary_objectives(prepared, tmp_path):
    from memekit import CLFAForClassification
    from memekit.tiny import tiny_clfa

    model, processor = tiny_clfa(["No Hate", "Hate"], seed=0)  # CLIP's towers as students
    model.save_pretrained(tmp_path / "init")
    processor.save_pretrained(tmp_path / "init")
    args = train_args(prepared, tmp_path / "run", tmp_path / "cache", "--model", "clfa")
    args[args.index("--init-from") + 1] = str(tmp_path / "init")
    assert cli_main(["train", *args, "--objectives", "clfa_alignment:0.3", "itc:0.1", "itm:0.1"]) == 0
    assert len(list((tmp_path / "cache").rglob("*.safetensors"))) == 3  # the teacher's embeddings, per split
    release = tmp_path / "run" / "seed_42" / "model"
    released = AutoModel.from_pretrained(release)
    assert isinstance(released, CLFAForClassification)
    assert json.loads((release / "eval_results.json").read_text())["test"]["num_examples"] == 3


def test_clfa_with_bert_and_vit_students_caches_its_teacher(prepared, tmp_path, monkeypatch):
    from safetensors.torch import load_file as load

    from memekit import CLFAForClassification, CLFAProcessor
    from memekit.tiny import tiny_clfa_bert_vit

    model, processor = tiny_clfa_bert_vit(["No Hate", "Hate"], seed=0)
    model.save_pretrained(tmp_path / "init")
    processor.save_pretrained(tmp_path / "init")
    calls = []
    original = CLFAForClassification.teacher_embeds

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CLFAForClassification, "teacher_embeds", counting)
    args = train_args(prepared, tmp_path / "run", tmp_path / "cache", "--model", "clfa")
    args[args.index("--init-from") + 1] = str(tmp_path / "init")
    memekit.train.main([*args, "--objectives", "clfa_alignment:0.5"])
    extraction_calls = len(calls)
    assert extraction_calls > 0
    cached = load(next((tmp_path / "cache").rglob("train.safetensors")))
    assert set(cached) == {"teacher_image_embeds", "teacher_text_embeds"} and len(cached["teacher_text_embeds"]) == 8

    calls.clear()
    memekit.train.main([*args, "--objectives", "clfa_alignment:0.5", "--output-dir", str(tmp_path / "again")])
    assert calls == []  # the teacher ran only for the first run's extraction
    assert isinstance(AutoProcessor.from_pretrained(tmp_path / "again" / "seed_42" / "model"), CLFAProcessor)


def test_tuning_clips_layer_norms_switches_the_cache_off(prepared, tmp_path):
    args = train_args(prepared, tmp_path / "run", tmp_path / "cache", "--peft", "clip_ln_tuning", "--epochs", "1")
    memekit.train.main(args)
    assert not (tmp_path / "cache").exists()  # CLIP's outputs change while it trains: nothing is cached
    results = json.loads((tmp_path / "run" / "seed_42" / "model" / "eval_results.json").read_text())
    assert results["test"]["num_examples"] == 3
    released = AutoModel.from_pretrained(tmp_path / "run" / "seed_42" / "model")
    assert isinstance(released, MemeCLIPForClassification)  # LayerNorms merged, wrappers removed


def test_linear_warmup_follows_berts_warmup_linear(prepared, tmp_path):
    config = memekit.train.parse_args(
        ["--data-dir", "x", "--scheduler", "linear_warmup", "--warmup-proportion", "0.25", "--epochs", "2"]
    )
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = memekit.train.build_scheduler(config, optimizer, updates_per_epoch=4)  # 8 updates in all
    factors = []
    for _ in range(8):
        factors.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    # x = 1/8 .. 8/8: warm-up x / 0.25 while x < 0.25, then 1 - x.
    assert factors == pytest.approx([0.5, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0])

    args = train_args(prepared, tmp_path / "run", tmp_path / "cache", "--scheduler", "linear_warmup")
    memekit.train.main([*args, "--warmup-proportion", "0.25"])
    history = json.loads((tmp_path / "run" / "seed_42" / "model" / "eval_results.json").read_text())["history"]
    # 2 updates per epoch (8 memes, batch 4), 4 in all: after epoch 0 the next update is the 3rd (x = 3/4).
    assert [record["lr"] for record in history] == pytest.approx([1e-3 * 0.25, 0.0])
