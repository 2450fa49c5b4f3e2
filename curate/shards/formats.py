"""Writing and reading one shard file in each format, deterministically.

Parquet: ~100 rows per row group, schema version in the Arrow metadata. WebDataset: a
plain POSIX tar with members ``<key>.<field>.<ext>``, written with fixed mtimes and
ownership so that the same samples always give the same bytes (and sha256).
"""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from depthcur.schemas.codecs import EncodedSample
from depthcur.schemas.containers import (arrow_schema, encoded_to_row, row_to_meta_blobs, wds_members,
                                         wds_to_meta_blobs)
from depthcur.schemas.errors import SchemaError
from depthcur.schemas.folder import TMP_PREFIX

FORMATS = ("parquet", "webdataset")
EXTENSIONS = {"parquet": "parquet", "webdataset": "tar"}
ROW_GROUP_SIZE = 100


def shard_name(index: int, fmt: str) -> str:
    return f"{fmt}/shard-{index:05d}.{EXTENSIONS[fmt]}"


def _tmp_for(path: Path) -> Path:
    return path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")


def _commit(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_parquet(path: Path, samples: list[EncodedSample]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([encoded_to_row(s) for s in samples], schema=arrow_schema())
    tmp = _tmp_for(path)
    try:
        pq.write_table(table, tmp, row_group_size=ROW_GROUP_SIZE, compression="none")
        _commit(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_webdataset(path: Path, samples: list[EncodedSample]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_for(path)
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for sample in samples:
                for suffix, data in sorted(wds_members(sample).items()):
                    info = tarfile.TarInfo(f"{sample.key}.{suffix}")
                    info.size, info.mtime, info.mode = len(data), 0, 0o644
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    tar.addfile(info, io.BytesIO(data))
        _commit(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


WRITERS = {"parquet": write_parquet, "webdataset": write_webdataset}


def iter_parquet(path: str | os.PathLike, batch_size: int = 16) -> Iterator[tuple[dict, dict[str, bytes]]]:
    """(meta, blobs) of each row of a Parquet shard."""
    try:
        reader = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"unreadable Parquet shard ({exc})", path=str(path)) from exc
    for batch in reader.iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            yield row_to_meta_blobs(row)


def iter_webdataset(path: str | os.PathLike) -> Iterator[tuple[dict, dict[str, bytes]]]:
    """(meta, blobs) of each sample of a WebDataset tar, grouping consecutive members by key."""
    current_key, members = None, {}
    try:
        with tarfile.open(path, "r|*") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                directory, _, base = info.name.rpartition("/")
                stem, _, suffix = base.partition(".")
                key = f"{directory}/{stem}" if directory else stem
                if key != current_key and members:
                    yield wds_to_meta_blobs(members, path=str(path))
                    members = {}
                current_key = key
                members[suffix] = tar.extractfile(info).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SchemaError(f"unreadable or truncated WebDataset tar ({exc})", path=str(path)) from exc
    if members:
        yield wds_to_meta_blobs(members, path=str(path))


READERS = {"parquet": iter_parquet, "webdataset": iter_webdataset}
