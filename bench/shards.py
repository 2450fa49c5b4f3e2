"""Shard build and read throughput at 960×1280, as ratios against encoding the same images.

Baseline: ``encode_sample`` of the in-memory arrays (PNG/npy encoding, the work any writer
must do). Build: raw folders -> Parquet + WebDataset through ``build_shards`` (read, decode
and validate every sample, write both formats, checksum). Read: ``ShardDataset`` decoding
every sample. Re-run: ``build_shards`` again on the finished folder (every shard's size and
sha256 checked against its record, nothing rewritten), as a fraction of the build time.
Ray is started before timing; its start-up is printed separately.

    .venv/bin/python bench/shards.py [--samples 24] [--height 960 --width 1280]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from depthcur.curate.shards import build_shards
from depthcur.core.ray_runner import init_ray
from depthcur.schemas import write_sample
from depthcur.schemas.codecs import decode_sample, encode_sample
from depthcur.synthetic import make_sample
from depthcur.train.data.shards import ShardDataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--height", type=int, default=960)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--samples-per-shard", type=int, default=8)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    try:
        samples = [make_sample(f"sim/bench/{i:05d}", height=args.height, width=args.width, seed=i)
                   for i in range(args.samples)]
        t0 = time.perf_counter()
        encoded = [encode_sample(s) for s in samples]
        t_encode = time.perf_counter() - t0
        mb = sum(e.nbytes() for e in encoded) / 1e6
        for e in encoded:
            decode_sample(e.meta, {k: v for k, (_, v) in e.blobs.items()})
        t_decode = time.perf_counter() - t0 - t_encode
        for s in samples:
            write_sample(work / "raw", s)

        t0 = time.perf_counter()
        init_ray(None)
        t_ray = time.perf_counter() - t0
        # Warm the Ray workers (imports of cv2/pyarrow) so the timed build measures steady state.
        t0 = time.perf_counter()
        build_shards([work / "raw"], work / "warmup", samples_per_shard=args.samples)
        t_warm = time.perf_counter() - t0

        t0 = time.perf_counter()
        build_shards([work / "raw"], work / "shards", samples_per_shard=args.samples_per_shard)
        t_build = time.perf_counter() - t0

        t0 = time.perf_counter()
        rerun = build_shards([work / "raw"], work / "shards", samples_per_shard=args.samples_per_shard)
        t_rerun = time.perf_counter() - t0
        assert rerun.shards_written == 0
        shard_mb = sum(f.bytes for s in rerun.manifest.shards for f in s.files.values()) / 1e6

        t0 = time.perf_counter()
        n = sum(1 for _ in ShardDataset([work / "shards"], shuffle=False))
        t_read = time.perf_counter() - t0
        assert n == args.samples

        n = args.samples
        print(f"shards bench: {n} samples at {args.height}x{args.width}, {mb / n:.2f} MB/sample encoded, "
              f"2 cores, ray start-up {t_ray:.1f}s and a cold first build {t_warm:.1f}s (not counted)")
        print(f"  baseline encode only : {n / t_encode:7.2f} samples/s {mb / t_encode:8.1f} MB/s")
        print(f"  baseline decode only : {n / t_decode:7.2f} samples/s {mb / t_decode:8.1f} MB/s")
        print(f"  build-shards (2 fmts): {n / t_build:7.2f} samples/s {mb / t_build:8.1f} MB/s "
              f"-> {t_build / t_encode:.2f}x the encode-only time")
        print(f"  re-run, all complete : {t_rerun:7.2f} s, {shard_mb / t_rerun:8.1f} MB/s of shards checked "
              f"-> {t_rerun / t_build:.2f}x the build time")
        print(f"  read (parquet decode): {n / t_read:7.2f} samples/s {mb / t_read:8.1f} MB/s "
              f"-> {t_read / t_decode:.2f}x the decode-only time")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
