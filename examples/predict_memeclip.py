"""Classify your own memes with a MemeCLIP folder or Hub repository.

    python examples/predict_memeclip.py MODEL --images meme1.png meme2.jpg --texts "text one" "text two"

MODEL is a folder written by `save_pretrained` / `memekit convert memeclip`, or a Hub id. The processor saved beside
the model prepares the inputs exactly as the model was trained with.
"""

import argparse
import json

from transformers import AutoModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--images", nargs="+", required=True)
    parser.add_argument("--texts", nargs="+", required=True)
    args = parser.parse_args()
    if len(args.images) != len(args.texts):
        parser.error(f"got {len(args.images)} images but {len(args.texts)} texts")

    model = AutoModel.from_pretrained(args.model, trust_remote_code=True)
    for image, text, prediction in zip(args.images, args.texts, model.predict(args.images, args.texts)):
        print(json.dumps({"image": image, "text": text, **prediction}))


if __name__ == "__main__":
    main()
