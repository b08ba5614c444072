"""Placeholder: the converter is being written."""

BENCHMARKS = ()
