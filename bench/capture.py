"""Capture throughput and preview latency, each against a baseline measured in the same run.

    .venv/bin/python bench/capture.py [--captures 12] [--previews 30]

1. frames/s the recorder writes with the replay driver (read → sample → stats → atomic raw folder →
   capture log), against a bare ``write_sample`` of the same arrays, and against a raw ``.npy`` dump
   of them (no PNG encoding) — at 640×480 and 1280×720.
2. preview latency (read + RGB/depth/IR thumbnails + JPEG + base64), in-process and over HTTP,
   against a bare JPEG encode of the full-size RGB frame.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from depthcur.capture.app import CaptureApp, make_server
from depthcur.capture.preview import jpeg_data_url
from depthcur.capture.recorder import DiskGuard, Recorder, SessionSettings
from depthcur.capture.rig import Rig, RigConfig
from depthcur.schemas import write_sample
from depthcur.synthetic import make_sample

SIZES = ((480, 640), (720, 1280))
NO_DISK_LIMIT = DiskGuard(min_free_bytes=0)


def make_replay(folder: Path, height: int, width: int, n: int = 3) -> list:
    # only the maps a camera gives (RGB, sensor depth, IR pair), so both writers store the same arrays
    samples = [make_sample(f"r/{i:03d}", height=height, width=width, seed=i).replace(
        depth_gt=None, depth_gt_kind=None, disparity_gt=None, instance_mask=None) for i in range(n)]
    for sample in samples:
        write_sample(folder, sample)
    return samples


def open_recorder(replay: Path, out: Path) -> Recorder:
    rig = Rig(RigConfig.single(f"replay:{replay}"))
    rig.connect()
    recorder = Recorder(out, rig, disk_guard=NO_DISK_LIMIT)
    recorder.open_session(SessionSettings("bench", scene_category="office"))
    return recorder


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def bench_writes(root: Path, height: int, width: int, captures: int) -> None:
    replay = root / f"replay_{width}"
    samples = make_replay(replay, height, width)
    recorder = open_recorder(replay, root / f"out_{width}")
    recorder.capture()                                   # warm-up: decode cache, first folder creation
    start = time.perf_counter()
    for _ in range(captures):
        recorder.capture()
    recorded = per_second(captures, time.perf_counter() - start)
    recorder.rig.disconnect()

    bare_root = root / f"bare_{width}"
    start = time.perf_counter()
    for i in range(captures):
        write_sample(bare_root, samples[i % len(samples)].replace(key=f"bare/{i:06d}"))
    bare = per_second(captures, time.perf_counter() - start)

    npy_root = root / f"npy_{width}"
    start = time.perf_counter()
    for i in range(captures):
        folder = npy_root / f"{i:06d}"
        folder.mkdir(parents=True)
        for name, array in samples[i % len(samples)].maps().items():
            np.save(folder / f"{name}.npy", array)
    raw = per_second(captures, time.perf_counter() - start)
    print(f"capture write {width}x{height}: recorder {recorded:.2f} frames/s, bare write_sample {bare:.2f} "
          f"frames/s, ratio {recorded / bare:.2f}x; raw .npy dump {raw:.2f} frames/s "
          f"(recorder/raw {recorded / raw:.2f}x)")


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def bench_preview(root: Path, repeats: int) -> None:
    for height, width in SIZES:
        recorder = open_recorder(root / f"replay_{width}", root / f"preview_out_{width}")
        app = CaptureApp(recorder)
        camera = recorder.rig.cameras[recorder.rig.primary]
        server = make_server(app, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = "http://127.0.0.1:%d/api/preview" % server.server_address[1]

        def over_http():
            with urllib.request.urlopen(url) as response:
                json.loads(response.read())

        app.preview(), over_http()                        # warm-up
        frame = camera.read()
        bare = median_ms(lambda: jpeg_data_url(frame.rgb), repeats)
        local = median_ms(app.preview, repeats)
        http = median_ms(over_http, repeats)
        server.shutdown(), server.server_close()
        recorder.rig.disconnect()
        print(f"preview latency {width}x{height}: bare full-size RGB JPEG {bare:.1f} ms, preview in-process {local:.1f} ms "
              f"({local / bare:.1f}x), preview over HTTP {http:.1f} ms ({http / bare:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captures", type=int, default=12)
    parser.add_argument("--previews", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="depthcur-bench-capture-") as tmp:
        root = Path(tmp)
        for height, width in SIZES:
            bench_writes(root, height, width, args.captures)
        bench_preview(root, args.previews)


if __name__ == "__main__":
    main()
