"""Converters from each benchmark's official release layout to a Hub-ready Parquet dataset folder (one module per
benchmark). `datasets` >= 4 no longer runs loading scripts, so these write data instead of being loading scripts."""
