"""Train and evaluate a memekit model on a prepared benchmark with Accelerate.

    accelerate launch examples/train.py --config configs/memeclip/pridemm_hate.yaml --data-dir data/pridemm
    memekit train --config configs/memeclip/pridemm_hate.yaml --data-dir data/pridemm --seeds 0 1 2

The protocol fixes what the original repositories get wrong: the checkpoint is selected on the validation split only,
the test split is evaluated once with the selected model, every metric is computed over the whole split, frozen CLIP
features are computed once and cached (`memekit.features`), state is saved every epoch and `--resume` continues to
the same final weights. Each seed runs in `OUTPUT_DIR/seed_<seed>/`; `OUTPUT_DIR/summary.json` holds mean and
standard deviation over seeds. The selected model of each seed is released in `seed_<seed>/model/` (see
`memekit.release`).
"""

import argparse
import dataclasses
import json
import logging
import math
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import DataLoaderConfiguration, set_seed
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from memekit.metrics import cdglt_weighted_f1, classification_report, memeclip_compat_metrics


logger = get_logger(__name__)

MODELS = ("memeclip", "cdglt", "clfa")
PEFT_METHODS = ("none", "cdglt_ln_tuning", "clip_ln_tuning")
SCHEDULERS = ("none", "cosine_cycles", "linear_warmup")
SELECTION_METRICS = ("accuracy", "macro_f1", "weighted_f1", "auroc")
COMPAT_MODES = ("none", "memeclip", "cdglt")


@dataclass
class TrainConfig:
    """Everything a run depends on. Recipes in `configs/` set these fields; every field is also a CLI option."""

    model: str = field(default="memeclip", metadata={"help": f"One of {MODELS}."})
    dataset: str = field(default="pridemm", metadata={"help": "Registered benchmark name (`memekit data list`)."})
    data_dir: str | None = field(default=None, metadata={"help": "Folder written by `memekit data prepare`."})
    task: str = field(default="hate", metadata={"help": "Label column (task) of the benchmark."})
    clip: str = field(default="openai/clip-vit-large-patch14", metadata={"help": "CLIP Hub id or folder."})
    gpt2: str = field(default="openai-community/gpt2", metadata={"help": "GPT-2 Hub id or folder (CDGLT)."})
    text_encoder: str | None = field(
        default=None, metadata={"help": "CLFA's student text encoder (e.g. bert-base-uncased); default: CLIP's own."}
    )
    vision_encoder: str | None = field(
        default=None,
        metadata={"help": "CLFA's student image encoder (e.g. google/vit-base-patch32-224-in21k); default: CLIP's."},
    )
    init_from: str | None = field(
        default=None, metadata={"help": "A saved memekit model folder (with processor) to start from."}
    )
    preprocessing: str | None = field(default=None, metadata={"help": "Processor preset; default: the model's."})
    peft: str = field(default="none", metadata={"help": f"One of {PEFT_METHODS}."})
    objectives: list[str] = field(
        default_factory=list, metadata={"help": "Auxiliary objectives NAME:WEIGHT, e.g. itc:0.1 itm:0.1."}
    )
    epochs: int = field(default=10, metadata={"help": "Maximum number of epochs."})
    batch_size: int = field(default=16, metadata={"help": "Training batch size per process."})
    eval_batch_size: int = field(default=64, metadata={"help": "Evaluation batch size per process."})
    learning_rate: float = 1e-4
    weight_decay: float = 1e-4
    scheduler: str = field(
        default="none",
        metadata={"help": f"One of {SCHEDULERS}: cosine_cycles steps once per epoch, linear_warmup once per update."},
    )
    cosine_cycles: int = field(default=1, metadata={"help": "cosine_cycles: T_max = epochs // cosine_cycles."})
    eta_min: float = field(default=0.0, metadata={"help": "cosine_cycles: minimum learning rate."})
    warmup_proportion: float = field(default=0.05, metadata={"help": "linear_warmup: share of updates warming up."})
    early_stopping_patience: int | None = field(
        default=None, metadata={"help": "Stop after this many epochs without a validation gain."}
    )
    selection_metric: str = field(
        default="macro_f1", metadata={"help": f"Validation metric, one of {SELECTION_METRICS}."}
    )
    gradient_accumulation_steps: int = 1
    mixed_precision: str = field(default="no", metadata={"help": "Accelerate mixed precision: no, bf16, fp16."})
    seeds: list[int] = field(default_factory=lambda: [42], metadata={"help": "One run per seed."})
    feature_cache: bool = field(
        default=True, metadata={"help": "Cache frozen CLIP features (skipped if CLIP trains)."}
    )
    feature_cache_dir: str | None = field(default=None, metadata={"help": "Default: $MEMEKIT_CACHE/features."})
    feature_dtype: str = field(default="float32", metadata={"help": "float32 (exact) or bfloat16 feature extraction."})
    extraction_batch_size: int = 64
    compat_metrics: str = field(
        default="none", metadata={"help": f"Also report the originals' figures: {COMPAT_MODES}."}
    )
    output_dir: str = field(default="outputs/run", metadata={"help": "Where runs, checkpoints and releases go."})
    report_to: str | None = field(default=None, metadata={"help": "Accelerate tracker, e.g. tensorboard."})
    resume: bool = field(default=False, metadata={"help": "Continue each seed from its latest saved epoch."})

    def validate(self) -> None:
        choices = {
            "model": MODELS,
            "peft": PEFT_METHODS,
            "scheduler": SCHEDULERS,
            "selection_metric": SELECTION_METRICS,
            "compat_metrics": COMPAT_MODES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"`{name}` must be one of {allowed}, got {getattr(self, name)!r}.")
        for name in ("epochs", "batch_size", "eval_batch_size", "cosine_cycles", "gradient_accumulation_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be at least 1, got {getattr(self, name)!r}.")
        if not 0.0 < self.warmup_proportion < 1.0:
            raise ValueError(f"`warmup_proportion` must be in (0, 1), got {self.warmup_proportion!r}.")
        if self.data_dir is None:
            raise ValueError("`data_dir` is required: the folder written by `memekit data prepare`.")
        if not self.seeds:
            raise ValueError("`seeds` must list at least one seed.")
        from memekit.objectives import parse_objectives

        parse_objectives(self.objectives)


# ----------------------------------------------------------------------------------------------------- arguments
def _cli_type(annotation):
    text = str(annotation)
    if "int" in text and "list" not in text:
        return int
    if "float" in text:
        return float
    return str


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memekit train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="A recipe YAML (configs/...); options given here override its fields.")
    for item in dataclasses.fields(TrainConfig):
        option = "--" + item.name.replace("_", "-")
        help_text = item.metadata.get("help")
        if item.type == "bool" or item.type is bool:
            parser.add_argument(
                option, dest=item.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif item.name == "seeds":
            parser.add_argument(option, dest=item.name, type=int, nargs="+", default=None, help=help_text)
        elif item.name == "objectives":
            parser.add_argument(option, dest=item.name, nargs="+", default=None, help=help_text)
        else:
            parser.add_argument(option, dest=item.name, type=_cli_type(item.type), default=None, help=help_text)
    return parser


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    args = vars(build_parser().parse_args(argv))
    recipe = args.pop("config")
    values = load_recipe(recipe) if recipe is not None else {}
    values.update({key: value for key, value in args.items() if value is not None})
    config = TrainConfig(**values)
    config.validate()
    return config


def load_recipe(path: str | Path) -> dict:
    """The fields of a recipe YAML. A recipe may name a `base` recipe (relative to its own folder) whose fields it
    overrides, so that ablations state only what they change."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`--config` file not found: {str(path)!r}.")
    values = yaml.safe_load(path.read_text()) or {}
    base = values.pop("base", None)
    known = {item.name for item in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{str(path)!r} has unknown fields {unknown}; known fields: {sorted(known)}.")
    return {**load_recipe(path.parent / base), **values} if base else values


# ---------------------------------------------------------------------------------------------------------- data
def load_task_splits(config: TrainConfig):
    """The benchmark's splits restricted to rows labelled for the task, and the task's class names."""
    from memekit.data import benchmark_of, load_benchmark

    benchmark = benchmark_of(config.dataset, config.data_dir)
    task = benchmark.task(config.task)
    # The stored bytes, opened by the processor as the original code opened the files (no EXIF rotation).
    dataset = load_benchmark(config.dataset, config.data_dir, decode_images=False)
    splits = {}
    for name in ("train", "validation", "test"):
        if name not in dataset:
            raise ValueError(
                f"{config.data_dir!r} has no {name!r} split; memekit's protocol needs train/validation/test."
            )
        split = dataset[name]
        labelled = [index for index, label in enumerate(split[config.task]) if label >= 0]
        splits[name] = split.select(labelled) if len(labelled) < len(split) else split
    return splits, list(task.class_names), benchmark


class _FeatureRows(torch.utils.data.Dataset):
    def __init__(self, features: dict[str, torch.Tensor], labels: list[int]):
        self.features, self.labels = features, torch.tensor(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "image_embeds": self.features["image_embeds"][index],
            "text_embeds": self.features["text_embeds"][index],
            "labels": self.labels[index],
        }


class _RawCollator:
    """Pixels and token ids on the fly (models whose encoders train), with cached frozen outputs added by row index
    when given (CLFA's teacher embeddings: the teacher's own inputs are then not needed)."""

    def __init__(self, processor, task: str, cached: dict[str, torch.Tensor] | None = None):
        self.processor, self.task, self.cached = processor, task, cached

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        inputs = self.processor(images=[r["image"] for r in rows], text=[r["text"] for r in rows], return_tensors="pt")
        batch = {**inputs, "labels": torch.tensor([r[self.task] for r in rows])}
        if self.cached is not None:
            indices = [r["_row"] for r in rows]
            batch = {key: value for key, value in batch.items() if not key.startswith("teacher_")}
            batch.update({key: value[indices] for key, value in self.cached.items()})
        return batch


def build_dataloaders(config, splits, model, processor, accelerator, use_cache: bool) -> dict[str, DataLoader]:
    from memekit.features import cached_features, frozen_part, model_fingerprint

    fingerprint = model_fingerprint(model) if use_cache else None
    replaces_inputs = use_cache and frozen_part(model)[1]
    loaders = {}
    for name, split in splits.items():
        batch_size = config.batch_size if name == "train" else config.eval_batch_size
        features = None
        if use_cache:
            features = cached_features(
                model, processor, split, name, accelerator, config.feature_cache_dir,
                config.extraction_batch_size, config.feature_dtype, fingerprint,
            )  # fmt: skip
        if replaces_inputs:
            rows, collate = _FeatureRows(features, list(split[config.task])), None
        elif features is not None:
            rows = split.add_column("_row", list(range(len(split))))
            collate = _RawCollator(processor, config.task, features)
        else:
            rows, collate = split, _RawCollator(processor, config.task)
        loaders[name] = DataLoader(rows, batch_size=batch_size, shuffle=name == "train", collate_fn=collate)
    return loaders


# --------------------------------------------------------------------------------------------------------- model
def build_model(config: TrainConfig, class_names: list[str]):
    from peft import get_peft_model
    from transformers import AutoModel, AutoProcessor

    from memekit import (
        CDGLTForClassification,
        CLFAForClassification,
        CLFAProcessor,
        MemeCLIPForClassification,
        MemeProcessor,
    )
    from memekit.peft import cdglt_ln_tuning_config, clip_ln_tuning_config

    if config.init_from is not None:
        model = AutoModel.from_pretrained(config.init_from)
        processor = AutoProcessor.from_pretrained(config.init_from)
        names = [model.config.id2label[i] for i in range(model.config.num_labels)]
        if len(names) != len(class_names):
            raise ValueError(
                f"`init_from` {config.init_from!r} has {len(names)} classes {names} but task {config.task!r} has "
                f"{len(class_names)} {class_names}."
            )
    elif config.model == "memeclip":
        model = MemeCLIPForClassification.from_clip(config.clip, labels=class_names)
        processor = MemeProcessor.from_clip(config.clip, preset=config.preprocessing or "memeclip")
    elif config.model == "cdglt":
        model = CDGLTForClassification.from_pretrained_backbones(config.clip, config.gpt2, labels=class_names)
        processor = MemeProcessor.from_clip(config.clip, preset=config.preprocessing or "cdglt")
    elif config.text_encoder is None and config.vision_encoder is None:
        # CLFA with CLIP's own towers as students: one CLIP processor feeds students and teacher.
        model = CLFAForClassification.from_pretrained_backbones(
            config.clip, config.clip, config.clip, labels=class_names
        )
        processor = MemeProcessor.from_clip(config.clip, preset=config.preprocessing or "cdglt")
    else:
        text, vision = config.text_encoder or config.clip, config.vision_encoder or config.clip
        model = CLFAForClassification.from_pretrained_backbones(text, vision, config.clip, labels=class_names)
        processor = CLFAProcessor.from_pretrained_backbones(text, vision, config.clip)
    if config.peft == "cdglt_ln_tuning":
        model = get_peft_model(model, cdglt_ln_tuning_config(model))
    elif config.peft == "clip_ln_tuning":
        model = get_peft_model(model, clip_ln_tuning_config(model))
    return model, processor


def build_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, updates_per_epoch: int):
    if config.scheduler == "none":
        return None
    if config.scheduler == "linear_warmup":
        # CLFA's schedule (BERT's `warmup_linear`): with x the fraction of all updates done counting the current one
        # (BertAdam counts from 1), the factor is x / warmup during the warm-up, then 1 - x.
        total, warmup = config.epochs * updates_per_epoch, config.warmup_proportion

        def factor(update: int) -> float:
            progress = (update + 1) / total
            return progress / warmup if progress < warmup else max(0.0, 1.0 - progress)

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    # CDGLT's schedule: cosine annealing over epochs // cycles epochs, stepped once per epoch; past T_max it rises
    # again, so the learning rate cycles.
    return torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(1, config.epochs // config.cosine_cycles), eta_min=config.eta_min
    )


# ------------------------------------------------------------------------------------------------ training state
@dataclass
class TrainingState:
    """What besides model, optimiser and RNG a resumed run needs; saved in every checkpoint."""

    epoch: int = -1
    best_epoch: int = -1
    best_score: float = -math.inf
    epochs_without_improvement: int = 0
    history: list[dict] = field(default_factory=list)

    def state_dict(self) -> dict:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def _latest_checkpoint(folder: Path) -> Path | None:
    checkpoints = sorted(folder.glob("epoch_*")) if folder.is_dir() else []
    return checkpoints[-1] if checkpoints else None


def _save_checkpoint(accelerator: Accelerator, folder: Path, epoch: int, keep: int = 2) -> None:
    """Save the full state atomically: written beside, then renamed, so an interruption never leaves half a state."""
    final = folder / f"epoch_{epoch:04d}"
    staging = folder / f".epoch_{epoch:04d}.partial"
    if accelerator.is_main_process and staging.exists():
        shutil.rmtree(staging)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(staging))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        staging.rename(final)
        for old in sorted(folder.glob("epoch_*"))[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


# ------------------------------------------------------------------------------------------------------ evaluate
@torch.no_grad()
def predict_split(model, loader, accelerator) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    all_logits, all_labels = [], []
    for batch in tqdm(loader, desc="evaluate", disable=not accelerator.is_main_process, leave=False):
        labels = batch.pop("labels")
        logits = model(**batch).logits
        logits, labels = accelerator.gather_for_metrics((logits, labels))
        all_logits.append(logits.float().cpu())
        all_labels.append(labels.cpu())
    return torch.cat(all_labels).numpy(), torch.cat(all_logits).numpy()


def evaluation_report(labels, logits, class_names: list[str], compat: str) -> dict:
    report = classification_report(labels, logits, class_names)
    if compat == "memeclip":
        report["compat_memeclip"] = memeclip_compat_metrics(labels, logits, batch_size=16)
    elif compat == "cdglt":
        report["compat_cdglt"] = {"weighted_f1_harmonic": cdglt_weighted_f1(labels, logits.argmax(axis=-1))}
    return report


# ---------------------------------------------------------------------------------------------------------- main
def train_one_seed(config: TrainConfig, seed: int) -> dict:
    run_dir = Path(config.output_dir) / f"seed_{seed}"
    accelerator = Accelerator(
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        mixed_precision=config.mixed_precision,
        log_with=config.report_to,
        project_dir=str(run_dir),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
    )
    set_seed(seed)
    if config.report_to:
        accelerator.init_trackers("memekit", config=dataclasses.asdict(config))

    splits, class_names, benchmark = load_task_splits(config)
    model, processor = build_model(config, class_names)
    from memekit.features import can_cache_features

    use_cache = config.feature_cache and can_cache_features(model)
    logger.info("Frozen-feature cache: %s", "on" if use_cache else "off (the encoders train, or it is disabled)")
    loaders = build_dataloaders(config, splits, model, processor, accelerator, use_cache)

    from memekit.objectives import CombinedLoss, parse_objectives

    # Auxiliary objectives have parameters of their own (ITC's temperature, ITM's head): they train with the model,
    # are synchronised under DDP and saved in the training state, but are not part of the released model.
    objectives = CombinedLoss(parse_objectives(config.objectives), model, seed) if config.objectives else None
    trainable = [p for p in model.parameters() if p.requires_grad]
    if objectives is not None:
        trainable += list(objectives.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    model, optimizer, train_loader, validation_loader, test_loader = accelerator.prepare(
        model, optimizer, loaders["train"], loaders["validation"], loaders["test"]
    )
    updates_per_epoch = math.ceil(len(train_loader) / config.gradient_accumulation_steps)
    scheduler = build_scheduler(config, optimizer, updates_per_epoch)
    step_per_update = config.scheduler == "linear_warmup"
    if objectives is not None:
        objectives = accelerator.prepare(objectives)
    state = TrainingState()
    accelerator.register_for_checkpointing(state)
    if scheduler is not None:
        accelerator.register_for_checkpointing(scheduler)

    checkpoints = run_dir / "checkpoints"
    if accelerator.is_main_process:
        checkpoints.mkdir(parents=True, exist_ok=True)
    best_path = run_dir / "best_trainable.safetensors"
    if config.resume and (latest := _latest_checkpoint(checkpoints)) is not None:
        accelerator.load_state(str(latest))
        logger.info("Resumed from %s (epoch %d done)", latest, state.epoch)

    for epoch in range(state.epoch + 1, config.epochs):
        train_loader.set_epoch(epoch)
        model.train()
        losses = []
        for batch in tqdm(train_loader, desc=f"epoch {epoch}", disable=not accelerator.is_main_process, leave=False):
            with accelerator.accumulate(model):
                outputs = model(**batch)
                if objectives is not None:
                    loss = objectives(model, outputs)[0]
                else:
                    # A model's own auxiliary terms (CLFA's alignment) count only through `--objectives`, so that
                    # recipes state every term they train with: without objectives the loss is the task's alone.
                    task_loss = getattr(outputs, "classification_loss", None)
                    loss = outputs.loss if task_loss is None else task_loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
                if step_per_update and accelerator.sync_gradients:
                    scheduler.step()
            losses.append(accelerator.gather(loss.detach()).mean().item())

        labels, logits = predict_split(model, validation_loader, accelerator)
        validation = classification_report(labels, logits, class_names)
        score = validation[config.selection_metric]
        if math.isnan(score):  # e.g. AUROC on a validation split holding a single class
            score = -math.inf
        record = {"epoch": epoch, "train_loss": float(np.mean(losses)), "lr": optimizer.param_groups[0]["lr"]}
        record.update({f"validation_{k}": validation[k] for k in ("accuracy", "macro_f1", "weighted_f1", "auroc")})
        state.history.append(record)
        state.epoch = epoch
        if score > state.best_score or state.best_epoch < 0:
            state.best_score, state.best_epoch, state.epochs_without_improvement = score, epoch, 0
            if accelerator.is_main_process:
                save_file(_trainable_state(accelerator.unwrap_model(model)), best_path)
        else:
            state.epochs_without_improvement += 1
        logger.info("epoch %d: %s", epoch, json.dumps(record))
        accelerator.log(record, step=epoch)
        if scheduler is not None and not step_per_update:
            scheduler.step()
        _save_checkpoint(accelerator, checkpoints, epoch)
        if config.early_stopping_patience and state.epochs_without_improvement >= config.early_stopping_patience:
            logger.info("Early stop: %d epochs without a validation gain", state.epochs_without_improvement)
            break

    # The selected model (best validation score), evaluated once on the test split.
    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    unexpected = unwrapped.load_state_dict(load_file(best_path), strict=False).unexpected_keys
    if unexpected:
        raise RuntimeError(f"The saved best weights do not fit the model: unexpected {unexpected[:5]}.")
    results = {
        "seed": seed,
        "best_epoch": state.best_epoch,
        "selection_metric": config.selection_metric,
        "num_processes": accelerator.num_processes,
        "distributed_type": str(accelerator.distributed_type),
    }
    for name, loader in (("validation", validation_loader), ("test", test_loader)):
        labels, logits = predict_split(model, loader, accelerator)
        results[name] = evaluation_report(labels, logits, class_names, config.compat_metrics)
    results["history"] = state.history
    if accelerator.is_main_process:
        from memekit.release import release_model

        release_model(unwrapped, processor, results, config, benchmark, run_dir / "model")
    accelerator.end_training()
    return results


def summarize(results: list[dict]) -> dict:
    metrics = ("accuracy", "macro_f1", "weighted_f1", "auroc")
    summary = {"seeds": [r["seed"] for r in results]}
    for metric in metrics:
        values = [r["test"][metric] for r in results]
        summary[f"test_{metric}"] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "values": values}
    return summary


def main(argv: list[str] | None = None) -> dict:
    config = parse_args(argv)
    previous = signal.getsignal(signal.SIGTERM)
    # SIGTERM (e.g. a cluster's pre-emption) stops the run like Ctrl-C: the last complete epoch stays resumable.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        results = [train_one_seed(config, seed) for seed in config.seeds]
    except KeyboardInterrupt:
        logger.warning("Interrupted: run again with --resume to continue from the last saved epoch.")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    summary = summarize(results)
    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "summary.json").write_text(json.dumps(summary, indent=2))
    for metric in ("accuracy", "macro_f1", "weighted_f1", "auroc"):
        entry = summary[f"test_{metric}"]
        logger.info("test %s: %.4f ± %.4f over seeds %s", metric, entry["mean"], entry["std"], summary["seeds"])
    return summary


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
