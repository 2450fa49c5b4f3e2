"""build-shards, shards verify and the torch readers, on real Ray and real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from depthcur.curate.shards import MANIFEST_NAME, build_shards, read_manifest, verify_shards
from depthcur.schemas import SchemaError, Source, Split, read_sample, scan_samples, write_sample
from depthcur.schemas.codecs import encode_sample
from depthcur.schemas.folder import write_encoded
from depthcur.synthetic import make_sample
from depthcur.train.data.shards import ShardDataset

GOOD = 10


def write_dataset(root: Path, n: int, *, height=24, width=32, bad=True) -> list[str]:
    keys = []
    for i in range(n):
        source = Source.SIM if i % 2 == 0 else Source.REAL
        split = Split.VAL if i % 5 == 0 else Split.TRAIN
        sample = make_sample(f"{source.value}/scene_{i // 4}/{i:04d}", height=height, width=width, seed=i,
                             source=source, split=split)
        write_sample(root, sample)
        keys.append(sample.key)
    if bad:
        # NaN depth written past validation, as a buggy producer would
        nan = make_sample("sim/bad/nan_depth", height=height, width=width, seed=99)
        enc = encode_sample(nan)
        meta_path = write_encoded(root, enc)
        meta = json.loads((meta_path / "meta.json").read_text())
        np.save(meta_path / "depth_gt.npy", np.full((height, width), np.nan, np.float32))
        (meta_path / "depth_gt.png").unlink()
        meta["maps"]["depth_gt"] = "npy"
        (meta_path / "meta.json").write_text(json.dumps(meta))
        # a truncated PNG
        trunc = write_sample(root, make_sample("sim/bad/truncated", height=height, width=width, seed=98))
        (trunc / "rgb.png").write_bytes((trunc / "rgb.png").read_bytes()[:50])
    return sorted(keys)


@pytest.fixture(scope="module")
def built(tmp_path_factory, ray_local):
    root = tmp_path_factory.mktemp("shards")
    keys = write_dataset(root / "raw", GOOD)
    result = build_shards([root / "raw"], root / "out", samples_per_shard=3)
    return root, keys, result


def test_manifest_counts_and_quarantine(built):
    root, keys, result = built
    m = result.manifest
    assert m.counts.total == GOOD
    assert m.counts.by_source == {"real": 5, "sim": 5}
    assert m.counts.by_split == {"train": 8, "val": 2}
    assert len(m.shards) == 4 and sum(s.count for s in m.shards) == GOOD  # 12 planned, 2 bad
    assert m.stats["mask_ratio"]["max"] > 0 and m.schema_version
    assert read_manifest(root / "out") == m and m.quarantine == "quarantine.jsonl"
    reasons = {q["key"]: q for q in result.quarantined}
    assert set(reasons) == {"sim/bad/nan_depth", "sim/bad/truncated"}
    assert reasons["sim/bad/nan_depth"]["field"] == "depth_gt" and "NaN" in reasons["sim/bad/nan_depth"]["reason"]
    assert reasons["sim/bad/truncated"]["field"] == "rgb"
    assert (root / "out/quarantine.jsonl").read_text().count("\n") == 2


def test_verify_passes_and_catches_tampering(built, tmp_path):
    root, keys, _ = built
    report = verify_shards(root / "out")
    assert report.ok, report.problems
    assert report.samples_decoded == 2 * GOOD
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(root / "out", copy)
    tar = copy / "webdataset/shard-00001.tar"
    data = bytearray(tar.read_bytes())
    data[700] ^= 0xFF
    tar.write_bytes(bytes(data))
    bad = verify_shards(copy)
    assert not bad.ok and any("sha256" in p for p in bad.problems)


def test_build_is_deterministic(built, tmp_path):
    root, _, result = built
    again = build_shards([root / "raw"], tmp_path / "again", samples_per_shard=3)
    digest = lambda m: [[f.sha256 for f in s.files.values()] for s in m.shards]  # noqa: E731
    assert digest(again.manifest) == digest(result.manifest)


def test_rerun_skips_complete_shards(built):
    root, _, result = built
    rerun = build_shards([root / "raw"], root / "out", samples_per_shard=3)
    assert rerun.shards_written == 0 and rerun.shards_skipped == 4
    assert rerun.manifest.shards == result.manifest.shards


def test_rerun_repairs_damaged_shards(built, tmp_path):
    """A truncated Parquet shard and a tar with one flipped byte are rebuilt, not counted as complete."""
    import shutil

    import pyarrow.parquet as pq
    import webdataset as wds

    root, keys, result = built
    out = tmp_path / "out"
    shutil.copytree(root / "out", out)
    parquet = out / "parquet/shard-00002.parquet"
    parquet.write_bytes(parquet.read_bytes()[:parquet.stat().st_size // 2])   # size differs
    tar = out / "webdataset/shard-00001.tar"
    data = bytearray(tar.read_bytes())
    data[700] ^= 0xFF                                                            # same size, sha256 differs
    tar.write_bytes(bytes(data))
    problems = verify_shards(out, decode=False).problems
    assert len(problems) == 2 and "shard-00001.tar: sha256" in problems[0] and "00002.parquet: size" in problems[1]

    (out / ".parts/shard-00003.json").write_text("{")   # an unreadable sidecar: that shard is written afresh

    rerun = build_shards([root / "raw"], out, samples_per_shard=3)
    assert (rerun.shards_repaired, rerun.shards_skipped, rerun.shards_written) == (2, 1, 1)
    assert rerun.manifest.shards == result.manifest.shards   # the same bytes as the first build
    report = verify_shards(out)
    assert report.ok, report.problems
    assert sorted(pq.read_table(sorted(str(p) for p in out.glob("parquet/*.parquet"))).column("key").to_pylist()) == keys
    tars = sorted(str(p) for p in out.glob("webdataset/*.tar"))
    assert sorted(s["__key__"] for s in wds.WebDataset(tars, shardshuffle=False)) == keys


@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
@pytest.mark.parametrize("world_size, workers", [(1, 0), (2, 0), (2, 2), (3, 2)])
def test_reader_splits_across_ranks_and_workers_without_duplicates(built, fmt, world_size, workers):
    from torch.utils.data import DataLoader

    root, keys, _ = built
    seen = []
    for rank in range(world_size):
        ds = ShardDataset([root / "out"], format=fmt, rank=rank, world_size=world_size, seed=1,
                          transform=lambda s: s.key)
        seen += list(DataLoader(ds, batch_size=None, num_workers=workers))
    assert sorted(seen) == keys  # every sample exactly once, even with 6 consumers for 4 shards


def test_reader_decodes_exactly_what_was_written(built):
    root, _, _ = built
    originals = {p.name: read_sample(p) for p in scan_samples(root / "raw").samples if p.parent.name != "bad"}
    for fmt in ("parquet", "webdataset"):
        for sample in ShardDataset([root / "out"], format=fmt, shuffle=False):
            ref = originals[sample.key.rsplit("/", 1)[1]]
            np.testing.assert_array_equal(sample.depth_gt, ref.depth_gt)
            np.testing.assert_array_equal(sample.depth_raw, ref.depth_raw)
            np.testing.assert_array_equal(sample.disparity_gt, ref.disparity_gt)
            assert sample.K_rgb == ref.K_rgb and sample.stats == ref.stats


def test_third_party_readers(built):
    """The shards open in plain webdataset, Ray Data, pyarrow, pandas and duckdb."""
    import duckdb
    import pandas as pd
    import pyarrow.parquet as pq
    import ray
    import webdataset as wds

    from depthcur.schemas.codecs import decode_depth_png
    from depthcur.schemas.containers import webdataset_handler

    root, keys, _ = built
    out = root / "out"
    tars = sorted(str(p) for p in (out / "webdataset").glob("*.tar"))
    parquets = sorted(str(p) for p in (out / "parquet").glob("*.parquet"))

    plain = list(wds.WebDataset(tars, shardshuffle=False))
    assert sorted(s["__key__"] for s in plain) == keys
    decoded = list(wds.WebDataset(tars, shardshuffle=False).decode(webdataset_handler))
    first = decoded[0]
    assert first["depth_gt.png"].dtype == np.uint16  # not clipped to 8 bit
    meta = first["meta.json"]
    ref = read_sample(root / "raw" / meta["key"])
    np.testing.assert_allclose(first["depth_gt.png"] * meta["depth_encoding"]["depth_gt"]["scale"],
                               ref.depth_gt, atol=1e-6)

    table = pq.read_table(parquets)
    assert table.schema.metadata[b"depthcur.schema_version"]
    assert sorted(table.column("key").to_pylist()) == keys
    assert pq.ParquetFile(parquets[0]).metadata.num_row_groups >= 1

    frame = pd.read_parquet(parquets)
    row = frame[frame.key == keys[0]].iloc[0]
    np.testing.assert_array_equal(decode_depth_png(row.depth_gt, row.depth_gt_scale),
                                  read_sample(root / "raw" / keys[0]).depth_gt)

    glob = str(out / "parquet" / "*.parquet")
    counts = dict(duckdb.sql(f"select source, count(*) from read_parquet('{glob}') group by source").fetchall())
    assert counts == {"real": 5, "sim": 5}

    ray_rows = ray.data.read_parquet(parquets).select_columns(["key"]).take_all()
    assert sorted(r["key"] for r in ray_rows) == keys
    ray_wds = ray.data.read_webdataset(tars, decoder=None).take_all()
    assert sorted(r["__key__"] for r in ray_wds) == keys


def test_cli_quarantine_exit_code_and_allow_bad(tmp_path, depthcur_cmd):
    write_dataset(tmp_path / "raw", 3)
    cmd = depthcur_cmd + ["build-shards", "--in", str(tmp_path / "raw"), "--out", str(tmp_path / "out"),
                          "--samples-per-shard", "2"]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 1, first.stderr
    assert "2 bad samples quarantined" in first.stderr + first.stdout
    assert verify_shards(tmp_path / "out").ok  # the good samples still landed
    truncated = tmp_path / "out/parquet/shard-00001.parquet"
    truncated.write_bytes(truncated.read_bytes()[:100])
    second = subprocess.run(cmd + ["--allow-bad"], capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "(0 written, 2 already complete, 1 repaired)" in second.stderr + second.stdout
    assert verify_shards(tmp_path / "out").ok


def test_sigkill_mid_run_then_resume(tmp_path, depthcur_cmd):
    keys = write_dataset(tmp_path / "raw", 24, height=240, width=320, bad=False)
    out = tmp_path / "out"
    cmd = depthcur_cmd + ["build-shards", "--in", str(tmp_path / "raw"), "--out", str(out),
                          "--samples-per-shard", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    parts = out / ".parts"
    deadline = time.time() + 120
    while time.time() < deadline and not (parts.is_dir() and any(parts.glob("shard-*.json"))):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = len(list(parts.glob("shard-*.json")))
    assert 1 <= done_at_kill < 24 and not (out / MANIFEST_NAME).exists(), "kill did not land mid-run"

    rerun = subprocess.run(cmd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    text = (rerun.stderr + rerun.stdout).replace("\n", " ")
    assert "24 samples in 24 shards" in text
    report = verify_shards(out)
    assert report.ok, report.problems
    got = sorted(s.key for s in ShardDataset([out], shuffle=False))
    assert got == keys  # same set, none duplicated
    assert not list(out.rglob(".tmp-*"))


def example_manifest() -> dict:
    """A manifest as build-shards wrote it before the dataclass existed (same keys, same values)."""
    files = {"parquet": {"path": "parquet/shard-00000.parquet", "sha256": "ab" * 32, "bytes": 1234},
             "webdataset": {"path": "webdataset/shard-00000.tar", "sha256": "cd" * 32, "bytes": 5120}}
    return {"schema_version": "1.0", "formats": ["parquet", "webdataset"], "samples_per_shard": 3,
            "inputs": ["/data/raw"],
            "counts": {"total": 3, "by_source": {"real": 1, "sim": 2}, "by_split": {"train": 3}, "quarantined": 0},
            "shards": [{"index": 0, "count": 3, "files": files}],
            "stats": {"mask_ratio": {"mean": 0.25, "p05": 0.1, "p50": 0.25, "p95": 0.4, "min": 0.1, "max": 0.4}},
            "quarantine": None}


def test_manifest_reads_and_writes_the_same_bytes(tmp_path):
    from depthcur.curate.shards import write_manifest
    from depthcur.schemas import write_json_atomic

    write_json_atomic(tmp_path / "old" / MANIFEST_NAME, example_manifest())
    manifest = read_manifest(tmp_path / "old")
    assert manifest.counts.by_source == {"real": 1, "sim": 2}
    assert manifest.shards[0].files["webdataset"].bytes == 5120
    assert read_manifest(tmp_path / "old" / MANIFEST_NAME) == manifest        # a folder or the file itself
    written = write_manifest(tmp_path / "new", manifest)
    assert written.read_bytes() == (tmp_path / "old" / MANIFEST_NAME).read_bytes()
    assert read_manifest(tmp_path / "new") == manifest


@pytest.mark.parametrize("mutate, field", [
    (lambda m: m.pop("counts"), "counts"),
    (lambda m: m["counts"].pop("total"), "counts.total"),
    (lambda m: m["shards"][0].update(count="3"), "shards[0].count"),
    (lambda m: m["shards"][0]["files"]["parquet"].pop("sha256"), "shards[0].files.parquet.sha256"),
    (lambda m: m.update(formats="parquet"), "formats"),
])
def test_malformed_manifest_names_the_file_and_field(tmp_path, mutate, field):
    data = example_manifest()
    mutate(data)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(SchemaError) as info:
        read_manifest(tmp_path)
    assert info.value.field == field and info.value.path == str(tmp_path / MANIFEST_NAME)
    assert str(tmp_path / MANIFEST_NAME) in str(info.value) and repr(field) in str(info.value)


def test_missing_or_broken_manifest(tmp_path):
    with pytest.raises(SchemaError, match="the build did not finish"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("{")
    with pytest.raises(SchemaError, match="not valid JSON") as info:
        read_manifest(tmp_path)
    assert info.value.path == str(tmp_path / MANIFEST_NAME)
