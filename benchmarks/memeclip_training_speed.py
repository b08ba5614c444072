"""Wall time of a 10-epoch MemeCLIP training run: the original recipe against memekit's cached features.

    python benchmarks/memeclip_training_speed.py [--memes 24] [--epochs 10] [--threads 2]

Both runs use a randomly initialised CLIP with the real ViT-L/14 shapes (compute does not depend on the weights; no
download) and the same MemeCLIP head, on the same random memes, in one process, one after the other:

- original recipe: every epoch, CLIP runs on every meme of the training split and of the evaluated split, one meme
  at a time (the official collator), in fp32; then the head trains on the batch;
- memekit: CLIP runs once over all memes in batches (`memekit.features`, fp32 and bf16 autocast), then the head trains
  for the same epochs on the cached features.

It reports both wall times and their ratio, the extraction throughput next to the fp32/bf16 matmul throughput measured
in the same run, and how far bf16 features are from fp32 ones (cosine similarity). Ratios are what compare; absolute
figures drift between runs on shared machines.
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F
from transformers import CLIPConfig

from memekit import MemeCLIPConfig, MemeCLIPForClassification


# OpenAI CLIP ViT-L/14 shapes (as `clip.build_model` infers them from the released weights).
VIT_L_14 = {
    "text_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
                    "max_position_embeddings": 77, "hidden_act": "quick_gelu"},
    "vision_config": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
                      "num_attention_heads": 16, "image_size": 224, "patch_size": 14, "hidden_act": "quick_gelu"},
    "projection_dim": 768,
}  # fmt: skip
FLOPS_PER_MEME = 155.5e9 + 13.1e9  # image + text tower, counted with torch.utils.flop_counter (../shared notes)


def matmul_throughput(dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def head_epoch(model, optimizer, image_embeds, text_embeds, labels, batch_size=16):
    model.train()
    for start in range(0, len(labels), batch_size):
        batch = slice(start, start + batch_size)
        loss = model(image_embeds=image_embeds[batch], text_embeds=text_embeds[batch], labels=labels[batch]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def original_recipe(model, pixels, ids, labels, n_train, epochs) -> float:
    """CLIP per meme, per epoch, for the training split and the evaluated split; then the head steps."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=1e-4)
    start = time.perf_counter()
    for _ in range(epochs):
        for split in (slice(0, n_train), slice(n_train, len(labels))):
            images, texts = [], []
            for index in range(split.start, split.stop):  # batch of one, as the official collator
                images.append(model.get_image_embeds(pixels[index : index + 1]).detach())
                texts.append(model.get_text_embeds(ids[index : index + 1]).detach())
            image_embeds, text_embeds = torch.cat(images), torch.cat(texts)
            if split.start == 0:
                head_epoch(model, optimizer, image_embeds, text_embeds, labels[split])
            else:
                with torch.no_grad():
                    model.eval()
                    model(image_embeds=image_embeds, text_embeds=text_embeds)
    return time.perf_counter() - start


@torch.no_grad()
def extract(model, pixels, ids, batch_size: int, dtype: torch.dtype | None):
    images, texts = [], []
    context = torch.autocast("cpu", dtype=dtype) if dtype is not None else torch.autocast("cpu", enabled=False)
    for start in range(0, len(pixels), batch_size):
        with context:
            images.append(model.get_image_embeds(pixels[start : start + batch_size]).float())
            texts.append(model.get_text_embeds(ids[start : start + batch_size]).float())
    return torch.cat(images), torch.cat(texts)


def cached_recipe(model, pixels, ids, labels, n_train, epochs, batch_size, dtype) -> tuple[float, float, tuple]:
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=1e-4)
    start = time.perf_counter()
    image_embeds, text_embeds = extract(model, pixels, ids, batch_size, dtype)
    extraction = time.perf_counter() - start
    for _ in range(epochs):
        head_epoch(model, optimizer, image_embeds[:n_train], text_embeds[:n_train], labels[:n_train])
        with torch.no_grad():
            model.eval()
            model(image_embeds=image_embeds[n_train:], text_embeds=text_embeds[n_train:])
    return time.perf_counter() - start, extraction, (image_embeds, text_embeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memes", type=int, default=24, help="Memes in all (two thirds train, one third evaluated).")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8, help="Extraction batch size of the cached recipe.")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    config = MemeCLIPConfig(clip_config=CLIPConfig(**VIT_L_14), id2label={0: "Benign Meme", 1: "Harmful Meme"})
    model = MemeCLIPForClassification(config).eval()
    pixels = torch.randn(args.memes, 3, 224, 224)
    ids = torch.randint(0, 49406, (args.memes, 77))
    ids[:, 0], ids[:, -1] = 49406, 49407
    labels = torch.randint(0, 2, (args.memes,))
    n_train = 2 * args.memes // 3

    peaks = {"fp32": matmul_throughput(torch.float32), "bf16": matmul_throughput(torch.bfloat16)}
    original = original_recipe(model, pixels, ids, labels, n_train, args.epochs)
    results = {"memes": args.memes, "epochs": args.epochs, "threads": args.threads, "original_s": original}
    features = {}
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        total, extraction, features[name] = cached_recipe(
            model, pixels, ids, labels, n_train, args.epochs, args.batch_size, dtype
        )
        throughput = args.memes * FLOPS_PER_MEME / extraction
        results[f"cached_{name}_s"] = total
        results[f"speedup_{name}"] = original / total
        results[f"extraction_{name}_memes_per_s"] = args.memes / extraction
        results[f"extraction_{name}_gflops"] = throughput / 1e9
        results[f"matmul_peak_{name}_gflops"] = peaks[name] / 1e9
        results[f"extraction_{name}_fraction_of_peak"] = throughput / peaks[name]
    results["bf16_vs_fp32_min_cosine"] = min(
        F.cosine_similarity(features["bf16"][0], features["fp32"][0]).min().item(),
        F.cosine_similarity(features["bf16"][1], features["fp32"][1]).min().item(),
    )
    print(json.dumps(results, indent=2))  # noqa: T201 (a benchmark script reports on stdout)


if __name__ == "__main__":
    main()
