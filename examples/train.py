"""Train and evaluate a memekit model with Accelerate, from a recipe in configs/.

    accelerate launch examples/train.py --config configs/memeclip/pridemm_hate.yaml --data-dir data/pridemm
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 examples/train.py --config ... (CPU DDP)

The loop itself lives in `memekit/train.py` (installed with the package, and behind `memekit train`): parse the
recipe and overrides, `Accelerator` first, `set_seed`, build data (cached CLIP features), model, optimiser and
scheduler, one `prepare`, `accumulate`, `gather_for_metrics`, `save_state` every epoch, selection on validation, one
test evaluation, and a Hub-ready release of the selected model.
"""

import logging

from memekit.train import main


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    main()
