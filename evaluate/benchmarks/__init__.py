"""Named benchmarks (``depthcur eval --benchmark NAME``): presets that fix a paper's datasets, splits,
protocols, alignment and metrics, and write its table beside the published numbers."""

from .presets import BENCHMARKS, EVAL_SPLITS, Benchmark, Column, PublishedRow

__all__ = ["BENCHMARKS", "EVAL_SPLITS", "Benchmark", "Column", "PublishedRow"]
