"""Release a trained model as a Hub-ready folder, and push it.

The folder holds the plain model (`save_pretrained`, PEFT adapters merged and unwrapped, loadable with
`AutoModel.from_pretrained(..., trust_remote_code=True)` without peft), its processor, `eval_results.json`,
`confusion_matrix.png`, `training_curve.png` (when there is a training history) and a model card (`README.md`) with
`model-index` results, the exact configuration, the dataset's terms, intended use and limitations.
"""

import dataclasses
import json
import logging
from pathlib import Path

import yaml
from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData


logger = logging.getLogger(__name__)

_CARD_METRICS = {"accuracy": "Accuracy", "macro_f1": "Macro F1", "weighted_f1": "Weighted F1", "auroc": "AUROC"}


def plain_model(model):
    """The plain memekit model of `model`: PEFT adapters merged and wrappers removed."""
    from peft import PeftModel

    from memekit.peft import merge_and_unwrap

    return merge_and_unwrap(model) if isinstance(model, PeftModel) else model


def save_confusion_matrix(matrix: list[list[int]], class_names: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = 1.2 + 0.7 * len(class_names)
    figure, axes = plt.subplots(figsize=(size + 1.5, size))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axes.set_yticks(range(len(class_names)), class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            axes.text(j, i, str(count), ha="center", va="center", color="white" if count > peak / 2 else "black")
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def save_training_curve(history: list[dict], path: Path, selection_metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [record["epoch"] for record in history]
    figure, loss_axes = plt.subplots(figsize=(6, 3.5))
    loss_axes.plot(epochs, [record["train_loss"] for record in history], color="tab:red", label="training loss")
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("training loss")
    metric_axes = loss_axes.twinx()
    metric_axes.plot(
        epochs, [record[f"validation_{selection_metric}"] for record in history], color="tab:blue", label="validation"
    )
    metric_axes.set_ylabel(f"validation {selection_metric}")
    figure.legend(loc="upper center", ncol=2, fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def build_model_card(
    model, results: dict, config, benchmark, folder_name: str, processor=None
) -> ModelCard:
    task = benchmark.task(config.task)
    test = results["test"]
    eval_results = [
        EvalResult(
            task_type="image-text-classification",
            task_name=f"{benchmark.pretty_name} {task.name}",
            dataset_type=benchmark.name,
            dataset_name=benchmark.pretty_name,
            dataset_split="test",
            metric_type=metric,
            metric_name=name,
            metric_value=round(float(test[metric]), 6),
        )
        for metric, name in _CARD_METRICS.items()
        if test.get(metric) == test.get(metric)  # NaN (undefined AUROC) is left out
    ]
    data = ModelCardData(
        library_name="transformers",
        license="mit",
        tags=["memekit", config.model, "memes", "multimodal", "image-text-classification"],
        # A run started from a saved model (`init_from`) has no Hub base model to name.
        base_model=config.clip if config.init_from is None else None,
        model_name=folder_name,
        eval_results=eval_results,
    )
    rows = "\n".join(
        f"| {name} | {results['validation'][metric]:.4f} | {test[metric]:.4f} |"
        for metric, name in _CARD_METRICS.items()
    )
    compat = {key: value for key, value in test.items() if key.startswith("compat_")}
    compat_text = (
        "Figures computed the way the original code computes them, for comparison with the paper only (not sound "
        f"evaluation):\n\n```json\n{json.dumps(compat, indent=2)}\n```"
        if compat
        else "No compatibility figures were requested."
    )
    labels = ", ".join(f"`{model.config.id2label[i]}`" for i in range(model.config.num_labels))
    content = f"""---
{data.to_yaml()}
---

# {folder_name}

A **{config.model}** classifier of memes (image and text together) for the **{task.name}** task of
**{benchmark.pretty_name}**, trained with memekit (seed {results["seed"]}). Classes: {labels}.

```python
from transformers import AutoModel

model = AutoModel.from_pretrained("THIS_REPO", trust_remote_code=True)
model.predict(["meme.png"], ["the text of the meme"])
```

## Results

Model selected on the validation split ({results["selection_metric"]}, epoch {results["best_epoch"]}); the test split
was evaluated once, with that model. Every metric is computed over the whole split.

| metric | validation | test |
|---|---|---|
{rows}

Per-class figures and confusion matrices: `eval_results.json`, `confusion_matrix.png`.

### Compatibility figures

{compat_text}

## Training configuration

```yaml
{yaml.safe_dump(dataclasses.asdict(config), sort_keys=False).strip()}
```

## Data

{benchmark.description}

Terms of the original release: {benchmark.terms}

## Preprocessing

{_preprocessing_note(processor)}

## Intended use and limitations

Intended for research on multimodal hate, harm, sentiment, sarcasm and metaphor detection in memes and social-media
posts. The model reflects the annotations, languages and time span of {benchmark.pretty_name}; it is not a content
moderation system and must not be the sole basis of decisions about people. Memes may contain offensive content.
Predictions on posts unlike the training data (other languages, platforms, periods or topics) are unreliable.
"""
    return ModelCard(content)


def _preprocessing_note(processor) -> str:
    """What a user of the release must know to feed it as it was trained."""
    images = (
        "Images are opened with Pillow as they are stored (`Image.open(...).convert(\"RGB\")`, no EXIF rotation), as "
        "the original code opens them; `predict` and the processor do the same for paths, bytes and dataset cells."
    )
    if getattr(processor, "text_cleaning", None) != "openai":
        return images + " Texts go to CLIP's tokenizer as they are, as `CLIPProcessor` gives them."
    from memekit.processing.processing_meme import FTFY_AVAILABLE

    return (
        images + " Texts are cleaned as OpenAI's `clip.tokenize` does (`ftfy.fix_text`, HTML unescaping, whitespace, "
        "`str.lower()`). Install `ftfy` where you run the model: without it its repairs are skipped and a few texts "
        "(mojibake, fullwidth letters, ligatures, curly quotes) tokenise differently from training."
        + ("" if FTFY_AVAILABLE else " **This model was trained without ftfy installed**: its texts were not repaired.")
    )


def release_model(model, processor, results: dict, config, benchmark, folder: str | Path) -> Path:
    """Write the Hub-ready release folder of a trained model (see the module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = plain_model(model)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    (folder / "eval_results.json").write_text(json.dumps(results, indent=2))
    class_names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    save_confusion_matrix(results["test"]["confusion_matrix"], class_names, folder / "confusion_matrix.png", "test")
    if results.get("history"):
        save_training_curve(results["history"], folder / "training_curve.png", results["selection_metric"])
    name = f"{config.model}-{benchmark.name}-{config.task}"
    build_model_card(model, results, config, benchmark, name, processor).save(folder / "README.md")
    logger.info("Released the selected model in %s", folder)
    return folder


def push_folder(folder: str | Path, repo_id: str, private: bool = False, commit_message: str | None = None) -> str:
    """Upload a release folder to a Hub model repository (created if needed); returns the commit URL."""
    folder = Path(folder)
    if not (folder / "config.json").is_file() or not (folder / "README.md").is_file():
        raise FileNotFoundError(
            f"{str(folder)!r} is not a release folder (config.json and README.md expected); release a model with "
            "`memekit train` or `memekit evaluate --output`."
        )
    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    commit = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type="model",
        commit_message=commit_message or "Upload memekit model",
    )
    return str(getattr(commit, "commit_url", commit))
