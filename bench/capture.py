"""Capture throughput and preview latency, each against a baseline measured in the same run.

    .venv/bin/python bench/capture.py [--captures 12] [--previews 30]

1. frames/s the recorder writes with the replay driver (read → sample → stats → atomic raw folder →
   capture log), against a bare ``write_sample`` of the same arrays, and against a raw ``.npy`` dump
   of them (no PNG encoding) — at 640×480 and 1280×720.
2. preview latency (read + RGB/depth/IR thumbnails + JPEG + base64), in-process and over HTTP,
   against a bare JPEG encode of the full-size RGB frame (in-process also as a ratio of CPU times),
   and the CPU time of its parts against the same bare encode: where a preview's time goes; at the
   default ``--preview-width`` and at a smaller one.
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
from depthcur.capture.job import PREVIEW_WIDTH
from depthcur.capture.preview import ir_to_grey, jpeg_data_url, thumbnail
from depthcur.capture.recorder import DiskGuard, Recorder, SessionSettings
from depthcur.capture.rig import Rig, RigConfig
from depthcur.core.pictures import depth_colormap
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


def dump_npy(folder: Path, sample) -> None:
    folder.mkdir(parents=True)
    for name, array in sample.maps().items():
        np.save(folder / f"{name}.npy", array)


def bench_writes(root: Path, height: int, width: int, captures: int) -> None:
    """The three writers take turns, one frame each, so load on a shared machine hits them alike;
    frames/s comes from the median time per frame."""
    replay = root / f"replay_{width}"
    samples = make_replay(replay, height, width)
    recorder = open_recorder(replay, root / f"out_{width}")
    recorder.capture()                                   # warm-up: decode cache, first folder creation
    times: dict[str, list[float]] = {"recorder": [], "bare": [], "npy": []}
    for i in range(captures):
        sample = samples[i % len(samples)]
        for name, write in (("recorder", recorder.capture),
                            ("bare", lambda: write_sample(root / f"bare_{width}", sample.replace(key=f"b/{i:06d}"))),
                            ("npy", lambda: dump_npy(root / f"npy_{width}" / f"{i:06d}", sample))):
            start = time.perf_counter()
            write()
            times[name].append(time.perf_counter() - start)
    recorder.rig.disconnect()
    fps = {name: 1.0 / statistics.median(values) for name, values in times.items()}
    print(f"capture write {width}x{height}: recorder {fps['recorder']:.2f} frames/s, bare write_sample "
          f"{fps['bare']:.2f} frames/s, ratio {fps['recorder'] / fps['bare']:.2f}x; raw .npy dump "
          f"{fps['npy']:.2f} frames/s (recorder/raw {fps['recorder'] / fps['npy']:.3f}x)")


def interleaved_ms(calls: dict, repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall-clock and CPU ms of each call, the calls taking turns. CPU time is the figure to
    compare on a machine with more runnable processes than cores: there a longer call is more
    often preempted, and its wall-clock time grows more than its work."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(((time.perf_counter() - wall) * 1000.0, (time.process_time() - cpu) * 1000.0))
    return {name: (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
            for name, values in times.items()}


def preview_parts(frame, width: int = PREVIEW_WIDTH) -> dict:
    """The steps of ``CaptureApp.preview`` on one frame, each on its own (inputs made once, up front)."""
    rgb = thumbnail(frame.rgb, width)
    depth = thumbnail(frame.depth_raw, width, nearest=True)
    depth_picture, ir = depth_colormap(depth), ir_to_grey(thumbnail(frame.ir_left, width // 2))
    return {"thumbnails": lambda: (thumbnail(frame.rgb, width),
                                   thumbnail(frame.depth_raw, width, nearest=True),
                                   ir_to_grey(thumbnail(frame.ir_left, width // 2))),
            "depth colour map": lambda: depth_colormap(depth),
            "3 JPEG data URLs": lambda: (jpeg_data_url(rgb), jpeg_data_url(depth_picture), jpeg_data_url(ir)),
            "fill rate": frame.fill_rate}


def bench_preview(root: Path, repeats: int, widths: tuple[int, ...]) -> None:
    for height, width in SIZES:
        recorder = open_recorder(root / f"replay_{width}", root / f"preview_out_{width}")
        camera = recorder.rig.cameras[recorder.rig.primary]
        for preview_width in widths:
            app = CaptureApp(recorder, preview_width=preview_width)
            server = make_server(app, "127.0.0.1", 0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            url = "http://127.0.0.1:%d/api/preview" % server.server_address[1]

            def over_http():
                with urllib.request.urlopen(url) as response:
                    json.loads(response.read())

            app.preview(), over_http()                        # warm-up
            frame = camera.read()
            # the three take turns, one call each, so load on a shared machine hits them alike
            times = interleaved_ms({"bare": lambda: jpeg_data_url(frame.rgb), "local": app.preview,
                                    "http": over_http}, repeats)
            (bare, bare_cpu), (local, local_cpu), (http, _) = times["bare"], times["local"], times["http"]
            parts = interleaved_ms({"bare": lambda: jpeg_data_url(frame.rgb), **preview_parts(frame, preview_width)},
                                   repeats)
            server.shutdown(), server.server_close()
            print(f"preview latency {width}x{height}, --preview-width {preview_width}: bare full-size RGB JPEG "
                  f"{bare:.1f} ms, preview in-process {local:.1f} ms ({local / bare:.1f}x; CPU time "
                  f"{local_cpu / bare_cpu:.1f}x), preview over HTTP {http:.1f} ms ({http / bare:.1f}x)")
            print("  its parts in CPU time against the bare encode: " + ", ".join(
                f"{name} {cpu / parts['bare'][1]:.2f}x" for name, (_, cpu) in parts.items() if name != "bare"))
        recorder.rig.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captures", type=int, default=15)
    parser.add_argument("--previews", type=int, default=30)
    parser.add_argument("--small-preview-width", type=int, default=320,
                        help="a second --preview-width to measure, as a slow kiosk would run the app")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="depthcur-bench-capture-") as tmp:
        root = Path(tmp)
        for height, width in SIZES:
            bench_writes(root, height, width, args.captures)
        bench_preview(root, args.previews, (PREVIEW_WIDTH, args.small_preview_width))


if __name__ == "__main__":
    main()
