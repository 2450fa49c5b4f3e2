"""Where evaluation samples come from: shard folders/files (through the train stage's
``ShardDataset``) or raw sample folders (``depthcur.schemas.scan_samples``)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Sequence

from depthcur.curate.shards.manifest import has_manifest
from depthcur.schemas import Sample, read_sample, scan_samples


def _is_raw_folder_root(path: Path) -> bool:
    return path.is_dir() and not has_manifest(path)


def iter_samples(paths: Sequence[str | Path], *, max_samples: int | None = None,
                 keys: Iterable[str] | None = None, slot: int = 0, slots: int = 1) -> Iterator[Sample]:
    """Samples in a fixed order (no shuffling); only ``keys`` when given; at most ``max_samples``.

    ``slot``/``slots`` give one of ``slots`` disjoint parts of the data (for parallel
    workers): whole shards per part when there are enough of them (ShardDataset's rank
    split), otherwise every ``slots``-th sample; only that part's samples are decoded.
    """
    wanted = None if keys is None else set(keys)
    count = 0
    for sample in _all_samples(paths, slot, slots):
        if max_samples is not None and count >= max_samples:
            return
        count += 1
        if wanted is None or sample.key in wanted:
            yield sample


def _all_samples(paths: Sequence[str | Path], slot: int, slots: int) -> Iterator[Sample]:
    for entry in paths:
        path = Path(entry)
        if _is_raw_folder_root(path):
            for folder in scan_samples(path).samples[slot::slots]:
                yield read_sample(folder)
        else:
            from depthcur.train.data.shards import ShardDataset   # torch-heavy; only for shards

            yield from ShardDataset([path], shuffle=False, rank=slot, world_size=slots)


def count_samples(paths: Sequence[str | Path]) -> int | None:
    """How many samples ``paths`` hold (for the progress bar); None when a shard file has no manifest."""
    total = 0
    for entry in paths:
        path = Path(entry)
        if _is_raw_folder_root(path):
            total += len(scan_samples(path).samples)
            continue
        from depthcur.train.data.shards import ShardDataset

        try:
            total += len(ShardDataset([path], shuffle=False))
        except TypeError:   # a bare shard file: its length is only in a manifest
            return None
    return total
