"""A weighted mix of dataset streams with an exact, saveable position.

Each stream is one ``--data NAME=PATH`` (a shard file or a shard folder); each training
sample is drawn from a stream chosen with probability proportional to its weight. Every
random choice derives from (seed, draw index), and the position is just counters, so a
resumed run replays the same samples in the same order: streams are re-opened at the saved
epoch and the samples already consumed are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from depthcur.core.progress import get_logger
from depthcur.schemas import Sample

log = get_logger(__name__)

#: epoch -> iterator over samples of one stream (already split for this rank)
StreamFactory = Callable[[int], Iterable[Sample]]


@dataclass
class Stream:
    name: str
    open_epoch: StreamFactory
    weight: float = 1.0
    #: how many decode failures the reader reported, read after each epoch
    skipped_counter: Callable[[], int] = lambda: 0


@dataclass
class MixPosition:
    draws: int = 0
    epochs: dict[str, int] = field(default_factory=dict)
    consumed: dict[str, int] = field(default_factory=dict)
    skipped: int = 0

    def to_dict(self) -> dict:
        return {"draws": self.draws, "epochs": dict(self.epochs), "consumed": dict(self.consumed),
                "skipped": self.skipped}

    @classmethod
    def from_dict(cls, data: dict) -> "MixPosition":
        return cls(int(data["draws"]), dict(data["epochs"]), dict(data["consumed"]), int(data.get("skipped", 0)))


class EmptyStreamError(RuntimeError):
    pass


class MixedStream:
    """Iterator of ``(draw_index, Sample)`` over weighted streams, resumable from ``position``."""

    def __init__(self, streams: Sequence[Stream], seed: int = 0, position: MixPosition | None = None):
        if not streams:
            raise ValueError("no training data: give at least one --data")
        self.streams = list(streams)
        weights = np.array([s.weight for s in streams], dtype=np.float64)
        if weights.sum() <= 0:
            raise ValueError("every --data stream has weight 0")
        self.probs = weights / weights.sum()
        self.seed = seed
        self.position = position or MixPosition()
        self._iters: dict[str, Iterator[Sample]] = {}

    def _open(self, stream: Stream) -> Iterator[Sample]:
        epoch = self.position.epochs.setdefault(stream.name, 0)
        consumed = self.position.consumed.setdefault(stream.name, 0)
        it = iter(stream.open_epoch(epoch))
        for _ in range(consumed):  # replay to the saved position
            next(it)
        return it

    def _next_from(self, stream: Stream) -> Sample:
        for attempt in range(2):
            if stream.name not in self._iters:
                self._iters[stream.name] = self._open(stream)
            try:
                sample = next(self._iters[stream.name])
            except StopIteration:
                del self._iters[stream.name]
                self.position.epochs[stream.name] += 1
                self.position.consumed[stream.name] = 0
                continue
            self.position.consumed[stream.name] += 1
            return sample
        raise EmptyStreamError(f"--data {stream.name}: the stream yielded no sample in a whole epoch "
                               f"(empty shards, all samples undecodable, or fewer shards than ranks)")

    def __iter__(self) -> "MixedStream":
        return self

    def __next__(self) -> tuple[int, Sample]:
        draw = self.position.draws
        if len(self.streams) == 1:   # the choice is certain: skip seeding its generator (~20 us a draw)
            stream = self.streams[0]
        else:
            rng = np.random.default_rng([self.seed, 7, draw])
            stream = self.streams[int(rng.choice(len(self.streams), p=self.probs))]
        sample = self._next_from(stream)
        self.position.draws += 1
        return draw, sample


def parse_data_arg(text: str) -> tuple[str, Path]:
    """``NAME=PATH`` or ``PATH`` (name = the folder or file stem)."""
    if "=" in text:
        name, path = text.split("=", 1)
    else:
        path = text
        name = Path(text.rstrip("/")).stem
    return name, Path(path)


def data_groups(data: Sequence[str]) -> dict[str, list[str]]:
    """``--data`` paths by stream name (paths sharing a NAME are one stream); a missing path, or a
    shard folder without a sample, is a UsageError naming it."""
    from depthcur.core.exits import UsageError
    from depthcur.schemas import SchemaError
    from depthcur.train.data.shards import resolve_shards

    groups: dict[str, list[str]] = {}
    for text in data:
        name, path = parse_data_arg(text)
        if not path.exists():
            raise FileNotFoundError(f"--data {text}: {path} does not exist")
        try:
            refs = resolve_shards([path])
        except SchemaError as exc:      # not a shard folder, or not one of shards of this format
            raise UsageError(f"{path}: {exc.reason}", f"--data {text}",
                             "point --data at a folder build-shards wrote (it holds manifest.json)") from None
        if all(ref.count == 0 for ref in refs):
            raise UsageError(f"{path} holds no sample", f"--data {text}",
                             "build-shards wrote no shard there; point --data at a shard folder with samples")
        groups.setdefault(name, []).append(str(path))
    return groups


def data_identity(data: Sequence[str]) -> dict[str, list[str]]:
    """What each ``--data`` stream holds, by content: ``file sha256`` per shard (the manifest's
    checksum; the size for a shard file given on its own). A resumed run must see the same."""
    from depthcur.train.data.shards import resolve_shards

    return {name: [f"{Path(ref.path).name} {ref.sha256 or f'{Path(ref.path).stat().st_size} bytes'}"
                   for ref in resolve_shards(paths)]
            for name, paths in sorted(data_groups(data).items())}


#: the data identity's entry for the teacher whose labels a distillation run trains on (no stream has this name)
TEACHER_IDENTITY = "--teacher"


def teacher_identity(teacher: str | None) -> list[str]:
    """Which checkpoint labels a distillation run's ``--data``, by content: its sha256 (of the newest
    checkpoint of a run folder); ``[]`` without ``--teacher`` (the run trains on ``--data`` as given)."""
    if not teacher:
        return []
    from depthcur.curate.shards.manifest import sha256_of
    from depthcur.train.checkpoint import latest_checkpoint

    return [sha256_of(latest_checkpoint(Path(teacher)))]


def teacher_change(then: list[str], now: list[str] | None) -> str | None:
    """How the teacher of a resumed run differs from its checkpoint's (``teacher_identity`` values), or None."""
    now = now or []
    if then == now:
        return None
    if not then:
        return "was trained without a --teacher, this run gives one"
    if not now:
        return f"was trained on the labels of a --teacher (checkpoint sha256 {then[0][:12]}), this run gives none"
    return f"was trained on the labels of another --teacher (checkpoint sha256 {then[0][:12]} then, {now[0][:12]} now)"


def shard_streams(data: Sequence[str], weights: dict[str, float], *, shuffle: bool, seed: int,
                  rank: int | None, world_size: int | None) -> list[Stream]:
    """One ``ShardDataset`` stream per dataset name (``--data`` paths sharing a NAME are one
    stream), split across ranks."""
    from depthcur.train.data.shards import ShardDataset

    groups = data_groups(data)
    unknown = weights.keys() - groups.keys()
    if unknown:
        raise ValueError(f"data.weights names {sorted(unknown)} but the --data streams are {sorted(groups)}")
    streams = []
    for name, paths in groups.items():
        holder: dict[str, object] = {}

        def open_epoch(epoch: int, paths: list[str] = paths, holder: dict = holder) -> Iterable[Sample]:
            ds = ShardDataset(paths, shuffle=shuffle, seed=seed, epoch=epoch, rank=rank, world_size=world_size)
            holder["ds"] = ds
            return ds

        streams.append(Stream(name=name, open_epoch=open_epoch, weight=float(weights.get(name, 1.0)),
                              skipped_counter=lambda holder=holder: int(getattr(holder.get("ds"), "skipped", 0))))
    return streams


def memory_stream(name: str, samples: Sequence[Sample], *, seed: int = 0, shuffle: bool = True,
                  weight: float = 1.0) -> Stream:
    """A stream over in-memory samples (tests, benchmarks), reshuffled per epoch."""

    def open_epoch(epoch: int) -> Iterable[Sample]:
        order = np.arange(len(samples))
        if shuffle:
            np.random.default_rng([seed, epoch]).shuffle(order)
        return (samples[i] for i in order)

    return Stream(name=name, open_epoch=open_epoch, weight=weight)
