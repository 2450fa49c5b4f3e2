"""A torch ``IterableDataset`` over Parquet or WebDataset shards.

Shards are split across distributed ranks and DataLoader workers so that every sample
is read by exactly one consumer per epoch. With at least as many shards as consumers
the split is by shard (each consumer streams whole files); with fewer, every consumer
reads all shards and keeps every n-th sample. A sample that fails decoding is skipped,
counted and logged, never allowed to stop a long run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from depthcur.curate.shards.formats import EXTENSIONS, READERS
from depthcur.curate.shards.manifest import MANIFEST_NAME, has_manifest, read_manifest
from depthcur.core.progress import get_logger
from depthcur.schemas import Sample, SchemaError
from depthcur.schemas.codecs import decode_sample

log = get_logger(__name__)
_FORMAT_BY_EXT = {ext: fmt for fmt, ext in EXTENSIONS.items()}


@dataclass(frozen=True)
class ShardRef:
    path: str
    format: str
    count: int | None = None
    sha256: str | None = None        # from the manifest; None for a shard file given on its own


def resolve_shards(paths: Sequence[str | os.PathLike], format: str = "auto") -> list[ShardRef]:
    """Shard files from files or shard folders (those holding ``manifest.json``).

    ``format="auto"`` reads Parquet from a folder that has both formats."""
    refs: list[ShardRef] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            if not has_manifest(path):
                raise SchemaError(f"not a shard folder (no {MANIFEST_NAME}); run build-shards first",
                                  path=str(path))
            manifest = read_manifest(path)
            fmt = format if format != "auto" else ("parquet" if "parquet" in manifest.formats
                                                   else manifest.formats[0])
            if fmt not in manifest.formats:
                raise SchemaError(f"shard folder has no {fmt} shards (it has {manifest.formats})",
                                  path=str(path))
            refs += [ShardRef(str(path / s.files[fmt].path), fmt, s.count, s.files[fmt].sha256)
                     for s in manifest.shards]
        elif path.is_file():
            fmt = _FORMAT_BY_EXT.get(path.suffix.lstrip("."))
            if fmt is None or (format != "auto" and fmt != format):
                raise SchemaError(f"not a {format if format != 'auto' else 'Parquet or WebDataset'} shard",
                                  path=str(path))
            refs.append(ShardRef(str(path), fmt))
        else:
            raise SchemaError("shard path does not exist", path=str(path))
    return refs


def consumer_slot(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """(index, count) of this consumer among all ranks × DataLoader workers."""
    if rank is None or world_size is None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        else:
            rank, world_size = 0, 1
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world_size * workers


class ShardDataset(IterableDataset):
    """Decoded :class:`Sample` s (or ``transform(sample)``) from shard files or folders."""

    def __init__(self, paths: Sequence[str | os.PathLike], *, format: str = "auto", shuffle: bool = True,
                 seed: int = 0, epoch: int = 0, transform: Callable[[Sample], Any] | None = None,
                 rank: int | None = None, world_size: int | None = None):
        super().__init__()
        self.shards = resolve_shards(paths, format)
        self.shuffle, self.seed, self.epoch = shuffle, seed, epoch
        self.transform = transform
        self.rank, self.world_size = rank, world_size
        self.skipped = 0

    def __len__(self) -> int:
        counts = [s.count for s in self.shards]
        if any(c is None for c in counts):
            raise TypeError("length is known only for shard folders with a manifest")
        return int(sum(counts))

    def shard_order(self) -> list[ShardRef]:
        order = list(self.shards)
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            order = [order[i] for i in rng.permutation(len(order))]
        return order

    def _records(self) -> Iterator[tuple[ShardRef, dict, dict]]:
        slot, slots = consumer_slot(self.rank, self.world_size)
        order = self.shard_order()
        by_shard = len(order) >= slots
        mine = order[slot::slots] if by_shard else order
        index = 0
        for shard in mine:
            try:
                for meta, blobs in READERS[shard.format](shard.path):
                    if by_shard or index % slots == slot:
                        yield shard, meta, blobs
                    index += 1
            except SchemaError as exc:
                self.skipped += 1
                log.warning("skipping the rest of an unreadable shard: %s", exc)

    def __iter__(self) -> Iterator[Any]:
        for shard, meta, blobs in self._records():
            try:
                sample = decode_sample(meta, blobs, path=shard.path)
            except (SchemaError, ValueError) as exc:
                self.skipped += 1
                log.warning("skipping undecodable sample (%d so far): %s", self.skipped, exc)
                continue
            yield self.transform(sample) if self.transform is not None else sample
