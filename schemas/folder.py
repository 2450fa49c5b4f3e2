"""Raw sample folders: the on-disk form that render and capture write and curate reads.

A sample lives in ``<root>/<key>/`` (the key's slashes become sub-folders) and holds
``meta.json`` plus one file per map, ``<field>.<ext>``. Writes go to a hidden temporary
sibling and are renamed into place, so a crash never leaves a half sample that looks
whole. Readers skip the temporary leftovers and report them.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from depthcur.core.exits import UsageError
from depthcur.core.outputs import check_out_folder, full_disk_named

from .codecs import MAP_EXTENSIONS, EncodedSample, decode_sample, encode_sample
from .errors import SchemaError
from .fields import MAP_FIELD_BY_NAME
from .keys import sample_dir
from .meta_json import parse_record_json
from .record import Sample

META_NAME = "meta.json"
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"


def sample_exists(root: str | os.PathLike, key: str) -> bool:
    return (sample_dir(root, key) / META_NAME).is_file()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write a file through a temporary sibling and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    with full_disk_named(path):
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    _fsync_dir(path.parent)


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


#: the options an output folder's samples were made with (``check_run_options``)
RUN_OPTIONS_NAME = "run_options.json"


def check_run_options(out: str | os.PathLike, options: dict, may_differ: Iterable[str] = ()) -> Path | None:
    """Record the options that shape the samples in ``out`` on its first run; refuse a resumed run
    whose options differ, so one folder never mixes two settings (two resolutions, two seeds ...).

    ``options`` is a config's fields (nested sections are flattened as ``section_field``, the way the
    flags are named); the names in ``may_differ`` do not change the outputs (workers, threads, the Ray
    address, the output folder itself) and are not recorded. Returns the record's path when this
    call wrote it (the first run), None when it was there already.
    """
    path = check_out_folder(out) / RUN_OPTIONS_NAME
    skip = set(may_differ)
    now = {name: value for name, value in _flat_options(options).items() if name not in skip}
    if not path.is_file():
        write_json_atomic(path, now)
        return path
    try:
        before = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        before = exc
    if not isinstance(before, dict):
        raise SchemaError("not a JSON object of options; delete it to record this run's options", path=str(path))
    # an option only one side knows came or went with a depthcur version: not a difference of this run
    differ = sorted(name for name in before.keys() & now.keys() if before[name] != now[name])
    if differ:
        changes = "; ".join(f"--{name.replace('_', '-')} {_shown(before[name])} then, {_shown(now[name])} now"
                            for name in differ)
        raise UsageError(f"{out} holds outputs made with other options ({changes})", f"{path}",
                         "resume with the options recorded there, or write to a new --out")
    return None


def _flat_options(options: dict, prefix: str = "") -> dict:
    """``{"sgm": {"block_size": 5}}`` -> ``{"sgm_block_size": 5}``, with values as JSON keeps them."""
    flat: dict = {}
    for name, value in options.items():
        if isinstance(value, dict):
            flat.update(_flat_options(value, f"{prefix}{name}_"))
        else:
            flat[f"{prefix}{name}"] = json.loads(json.dumps(value, default=str))   # tuples -> lists, Paths -> str
    return flat


def _shown(value) -> str:
    return "(unset)" if value is None else ",".join(map(str, value)) if isinstance(value, list) else str(value)


def write_encoded(root: str | os.PathLike, encoded: EncodedSample, *, overwrite: bool = False) -> Path:
    """Write an encoded sample folder atomically and return its path."""
    final = sample_dir(root, encoded.key)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not overwrite:
        raise FileExistsError(f"sample folder {final} already exists (pass overwrite=True to replace it)")
    tmp = final.with_name(f"{TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}")
    with full_disk_named(final):
        tmp.mkdir()
        _write_folder(tmp, final, encoded)
    return final


def _write_folder(tmp: Path, final: Path, encoded: EncodedSample) -> None:
    """Fill ``tmp`` and rename it to ``final``; on any error remove ``tmp`` (nothing partial stays)."""
    try:
        for name, (ext, data) in encoded.blobs.items():
            with open(tmp / f"{name}.{ext}", "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        with open(tmp / META_NAME, "w") as fh:
            json.dump(encoded.meta, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        if final.exists():
            trash = final.with_name(f"{TRASH_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}")
            os.rename(final, trash)
            os.rename(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.rename(tmp, final)
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_sample(root: str | os.PathLike, sample: Sample, *, overwrite: bool = False) -> Path:
    """Validate, encode and atomically write ``sample`` under ``root``."""
    return write_encoded(root, encode_sample(sample), overwrite=overwrite)


def read_meta(path: str | os.PathLike) -> dict:
    meta_path = Path(path) / META_NAME
    try:
        raw = meta_path.read_bytes()
    except FileNotFoundError:
        raise SchemaError("sample folder has no meta.json", path=str(path)) from None
    meta = parse_record_json(raw, name=META_NAME, path=str(meta_path))
    if not isinstance(meta, dict):
        raise SchemaError(f"meta.json holds a JSON {type(meta).__name__}, not an object of sample fields; "
                          "rewrite or remove this sample", path=str(meta_path))
    return meta


def read_encoded(path: str | os.PathLike) -> tuple[dict, dict[str, bytes]]:
    """(meta, {field: bytes}) of a sample folder, without decoding the maps."""
    path = Path(path)
    meta = read_meta(path)
    blobs: dict[str, bytes] = {}
    maps = meta.get("maps") or {}
    if not isinstance(maps, dict):
        raise SchemaError(f"must be a JSON object, not {type(maps).__name__}", key=meta.get("key"), field="maps",
                          path=str(path / META_NAME))
    for name, ext in maps.items():
        # Only known fields and extensions: a name such as "../x" must not open files outside the folder.
        if name not in MAP_FIELD_BY_NAME or ext not in MAP_EXTENSIONS:
            raise SchemaError(f"unknown map {name!r} with extension {ext!r} in meta.json", key=meta.get("key"),
                              field="maps", path=str(path / META_NAME))
        file = path / f"{name}.{ext}"
        try:
            blobs[name] = file.read_bytes()
        except FileNotFoundError:
            raise SchemaError("map file listed in meta.json is missing", key=meta.get("key"), field=name,
                              path=str(file)) from None
        except OSError as exc:
            raise SchemaError(f"map file is unreadable ({exc.strerror})", key=meta.get("key"), field=name,
                              path=str(file)) from None
    return meta, blobs


def read_sample(path: str | os.PathLike) -> Sample:
    meta, blobs = read_encoded(path)
    return decode_sample(meta, blobs, path=str(path))


@dataclass
class FolderScan:
    """Sample folders found under a root, and the temporary leftovers of interrupted writes."""

    samples: list[Path] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)


def scan_samples(root: str | os.PathLike) -> FolderScan:
    """Find sample folders (those with ``meta.json``) under ``root``, sorted by path."""
    scan = FolderScan()
    root = Path(root)
    if not root.is_dir():
        raise SchemaError("input folder does not exist or is not a folder", path=str(root))
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in list(dirnames):
            if name.startswith((TMP_PREFIX, TRASH_PREFIX)):
                scan.leftovers.append(here / name)
                dirnames.remove(name)
        scan.leftovers += [here / f for f in filenames if f.startswith(TMP_PREFIX)]
        if META_NAME in filenames:
            scan.samples.append(here)
            dirnames[:] = []
        else:
            dirnames.sort()
    scan.samples.sort()
    scan.leftovers.sort()
    return scan


def remove_leftovers(scan: FolderScan) -> int:
    for path in scan.leftovers:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return len(scan.leftovers)
