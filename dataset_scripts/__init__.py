"""Converters from each benchmark's official release layout to a Hub-ready Parquet dataset folder, one module per
benchmark. `datasets` >= 4 no longer runs loading scripts, so these read the release and `memekit.data` writes data.

`BENCHMARKS` maps each benchmark name to its `Benchmark` (tasks, class names, reported metrics and split, licence,
citation, and the reader of its release).
"""

from . import demo_memes, harmeme, hateful_memes, met_meme, mmsd, mvsa, pridemm
from .common import Benchmark, Task


BENCHMARKS: dict[str, Benchmark] = {
    benchmark.name: benchmark
    for module in (pridemm, harmeme, hateful_memes, met_meme, mmsd, mvsa, demo_memes)
    for benchmark in module.BENCHMARKS
}

__all__ = ["BENCHMARKS", "Benchmark", "Task"]
