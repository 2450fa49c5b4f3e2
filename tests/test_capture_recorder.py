"""Recorder, rig and failure handling: whole captures or none, serialised, disk-guarded."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from depthcur.capture.align import register_depth_to_rgb
from depthcur.capture.cameras import CaptureError, DeviceReadError, Frame, make_camera
from depthcur.capture.cameras.base import rigid_transform
from depthcur.capture.recorder import DiskGuard, DiskSpaceError, Recorder, SessionNameError, SessionSettings
from depthcur.capture.rig import Rig, RigConfig, load_rig
from depthcur.schemas import Intrinsics, Source, read_sample, scan_samples, validate_sample, write_sample
from depthcur.synthetic import make_sample

PLENTY = DiskGuard(min_free_bytes=0, free_bytes=lambda _path: 10 ** 12)


class FailingCamera:
    """Wraps a driver; its reads fail once ``fail_on_read`` reads have happened (None = never)."""

    def __init__(self, inner, fail_on_read: int | None = None):
        self.inner, self.fail_on_read, self.reads = inner, fail_on_read, 0
        self.kind = inner.kind

    def read(self) -> Frame:
        self.reads += 1
        if self.fail_on_read is not None and self.reads >= self.fail_on_read:
            raise DeviceReadError("USB transfer failed (test)")
        return self.inner.read()

    def __getattr__(self, name):
        return getattr(self.inner, name)


def replay_folder(root: Path, n: int = 3, size=(24, 32)) -> Path:
    for i in range(n):
        write_sample(root, make_sample(f"r/{i:03d}", height=size[0], width=size[1], seed=i))
    return root


def make_recorder(tmp_path, *, devices=("replay",), disk=PLENTY, wrap=None) -> Recorder:
    config = RigConfig(devices={}, primary=devices[0])
    cameras = {}
    from depthcur.capture.rig import DeviceConfig

    for n, name in enumerate(devices):
        folder = replay_folder(tmp_path / f"replay_{name}", n=2 + n)
        config.devices[name] = DeviceConfig(f"replay:{folder}")
        camera = make_camera(f"replay:{folder}")
        cameras[name] = wrap(camera) if wrap else camera
    rig = Rig(config, cameras)
    rig.connect()
    recorder = Recorder(tmp_path / "out", rig, disk_guard=disk)
    recorder.open_session(SessionSettings("s1", operator="ana", scene_category="library", location_note="2nd floor"))
    return recorder


def samples_on_disk(recorder: Recorder) -> list[Path]:
    return scan_samples(recorder.out).samples


def test_capture_writes_one_valid_real_sample_per_device_with_session_metadata(tmp_path):
    recorder = make_recorder(tmp_path, devices=("orbbec", "zed"))
    records = recorder.capture("office")
    assert [r.keys for r in records] == [["s1/orbbec/000000", "s1/zed/000000"]]
    for path in samples_on_disk(recorder):
        sample = validate_sample(read_sample(path))
        assert sample.source == Source.REAL and sample.depth_gt is None
        assert sample.ir_left is not None and sample.ir_right is not None and sample.baseline_m > 0
        assert sample.scene_category == "office"
        fill = float(np.mean(sample.depth_raw > 0))
        assert sample.stats["fill_rate"] == pytest.approx(fill, abs=1e-6)
        assert sample.stats["mask_ratio"] == pytest.approx(1 - fill, abs=1e-6)
    session = json.loads((recorder.session_dir / "session.json").read_text())
    assert (session["operator"], session["scene_category"], session["location_note"]) == ("ana", "library",
                                                                                          "2nd floor")
    assert session["devices"]["orbbec"]["primary"] and session["devices"]["zed"]["serial"]
    assert session["devices"]["zed"]["calibration"]["baseline_m"] > 0
    assert {"python", "numpy", "schema"} <= set(session["software"])


def test_device_failing_mid_burst_writes_nothing(tmp_path):
    recorder = make_recorder(tmp_path, wrap=lambda cam: FailingCamera(cam))
    recorder.capture(burst=2)
    camera = recorder.rig.cameras["replay"]
    camera.fail_on_read = camera.reads + 3             # the third frame of the next burst fails
    with pytest.raises(DeviceReadError, match="device replay: USB transfer failed"):
        recorder.capture(burst=5)
    assert len(samples_on_disk(recorder)) == 2 and not scan_samples(recorder.out).leftovers
    assert [c.index for c in recorder.captures] == [0, 1]
    camera.fail_on_read = None
    assert recorder.capture()[0].index == 2            # the failed burst used no index


def test_failed_write_rolls_back_the_whole_capture(tmp_path, monkeypatch):
    import depthcur.capture.recorder as recorder_module

    recorder = make_recorder(tmp_path, devices=("a", "b"))
    real_write, calls = recorder_module.write_sample, []

    def write_then_fail(root, sample, **kw):
        calls.append(sample.key)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(root, sample, **kw)

    monkeypatch.setattr(recorder_module, "write_sample", write_then_fail)
    with pytest.raises(OSError):
        recorder.capture()
    assert samples_on_disk(recorder) == [] and recorder.captures == []


def test_nearly_full_disk_refuses_with_a_message(tmp_path):
    free = {"bytes": 10 ** 9}
    guard = DiskGuard(min_free_bytes=500 * 10 ** 6, free_bytes=lambda _path: free["bytes"])
    recorder = make_recorder(tmp_path, disk=guard)
    recorder.capture()
    free["bytes"] = 500 * 10 ** 6 + 1000                 # above the floor, but not by a capture's size
    with pytest.raises(DiskSpaceError, match=r"disk nearly full: 500 MB free .* must stay free"):
        recorder.capture()
    free["bytes"] = 10 ** 6
    with pytest.raises(DiskSpaceError):
        recorder.capture()
    assert len(samples_on_disk(recorder)) == 1


def test_concurrent_clients_get_distinct_whole_captures(tmp_path):
    first = make_recorder(tmp_path)
    # a second recorder on the same session stands for a second app process (flock, not the thread lock)
    second_rig = Rig(first.rig.config)
    second_rig.connect()
    second = Recorder(first.out, second_rig, disk_guard=PLENTY)
    second.open_session(first.session)
    errors = []

    def client(recorder):
        try:
            for _ in range(3):
                recorder.capture(burst=2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(r,)) for r in (first, first, second, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    paths = samples_on_disk(first)
    assert [p.name for p in paths] == [f"{i:06d}" for i in range(24)]
    for path in paths:
        validate_sample(read_sample(path))
    logged = json.loads((first.session_dir / "captures.json").read_text())
    assert sorted(c["index"] for c in logged) == list(range(24))


@pytest.mark.parametrize("name", ["../../etc", "a/b", "Session", "x.y", "", "-lead", "a" * 65])
def test_unsafe_session_names_are_rejected(tmp_path, name):
    recorder = make_recorder(tmp_path)
    with pytest.raises(SessionNameError, match="is not allowed"):
        recorder.open_session(SessionSettings(name))
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc").exists()


def test_delete_last_and_resume_continue_the_numbering(tmp_path):
    recorder = make_recorder(tmp_path)
    recorder.capture(burst=3)
    deleted = recorder.delete_last()
    assert deleted.index == 2 and len(samples_on_disk(recorder)) == 2
    again = Recorder(recorder.out, recorder.rig, disk_guard=PLENTY)
    again.open_session(SessionSettings("s1", scene_category="library"))
    assert again.capture()[0].index == 2
    assert again.counts_by_category() == {"library": 3}


def test_depth_registration_shifts_by_f_times_baseline_over_z():
    z, tx = 2.0, 0.05
    k = Intrinsics(100.0, 100.0, 31.5, 23.5)
    depth = np.full((48, 64), z, np.float32)
    out = register_depth_to_rgb(depth, k, k, rigid_transform(np.eye(3), [tx, 0, 0]), (48, 64))
    shift = round(k.fx * tx / z)                      # 2.5 px -> columns move right by 2-3
    assert np.allclose(out[:, shift + 1:], z)
    assert np.all(out[:, :shift - 1] == 0)
    fine = register_depth_to_rgb(depth, k, Intrinsics(200.0, 200.0, 63.5, 47.5), np.eye(4), (96, 128))
    assert np.mean(fine > 0) > 0.99                   # a 2x finer RGB grid gets no false holes


def test_realsense_recording_is_registered_onto_the_rgb_grid(tmp_path):
    pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed")
    from depthcur.capture.cameras.realsense.software import write_recording

    k_ir = Intrinsics(40.0, 40.0, 31.5, 23.5)
    k_rgb = Intrinsics(60.0, 60.0, 47.5, 35.5)
    rng = np.random.default_rng(1)
    frames = [Frame(rgb=rng.integers(0, 255, (72, 96, 3), dtype=np.uint8), depth_raw=np.full((48, 64), 1.5, np.float32),
                    K_rgb=k_rgb, K_depth=k_ir, ir_left=rng.integers(0, 255, (48, 64), dtype=np.uint8),
                    ir_right=rng.integers(0, 255, (48, 64), dtype=np.uint8), K_ir=k_ir, baseline_m=0.05,
                    T_rgb_from_depth=rigid_transform(np.eye(3), [0.015, 0, 0]),
                    T_rgb_from_ir=rigid_transform(np.eye(3), [0.015, 0, 0])) for _ in range(3)]
    path = write_recording(tmp_path / "r.db3", frames)
    rig = Rig(RigConfig.single(f"realsense:{path}"))
    rig.connect()
    recorder = Recorder(tmp_path / "out", rig, disk_guard=PLENTY)
    recorder.open_session(SessionSettings("rs", scene_category="office"))
    recorder.capture()
    rig.disconnect()
    sample = read_sample(samples_on_disk(recorder)[0])
    assert sample.depth_raw.shape == (72, 96) and sample.ir_left.shape == (48, 64)
    valid = sample.depth_raw[sample.depth_raw > 0]
    assert valid.size > 0.8 * sample.depth_raw.size and np.allclose(valid, 1.5)
    assert sample.baseline_m == pytest.approx(0.05, abs=1e-6) and sample.stats["fill_rate"] == 1.0


def test_rig_yaml_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "rig.yaml"
    bad.write_text("devices:\n  cam: {spec: 'replay:/x', options: {exposure: 3}}\n")
    with pytest.raises(CaptureError, match=r"rig.yaml: devices.cam.options: unknown option\(s\) exposure"):
        load_rig(bad)
    bad.write_text("primary: nope\ndevices:\n  cam: realsense\n")
    with pytest.raises(CaptureError, match="primary 'nope' is not one of the devices"):
        load_rig(bad)
    good = tmp_path / "good.yaml"
    good.write_text("name: lab\nprimary: zed\ndevices:\n  orbbec: orbbec:CP123\n  zed: {spec: zed, options: "
                    "{depth_mode: NEURAL}}\nquotas: {office: 2, library: 1}\n")
    rig = load_rig(good)
    assert rig.primary == "zed" and rig.devices["orbbec"].spec == "orbbec:CP123" and rig.quotas["office"] == 2


def test_rig_yaml_with_old_option_names_still_loads(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text("devices:\n  orbbec: {spec: 'orbbec:CP1', options: {laser: false, playback: /r/a.bag}}\n"
                   "  zed: {spec: zed, options: {svo: /r/b.svo2, serial: 12345}}\n")
    with pytest.warns(FutureWarning) as warned:
        config = load_rig(old)
    assert [str(w.message).split("old.yaml: ")[1].split(";")[0] for w in warned] == [   # once each, at load time
        "devices.orbbec.options: the orbbec option 'laser' is now called 'emitter'",
        "devices.orbbec.options: the orbbec option 'playback' is now called 'recording'",
        "devices.zed.options: the zed option 'svo' is now called 'recording'"]
    assert config.devices["orbbec"].options == {"emitter": False, "recording": "/r/a.bag"}
    cameras = Rig(config).cameras
    assert (cameras["orbbec"].config.emitter, cameras["orbbec"].config.recording) == (False, "/r/a.bag")
    assert (cameras["zed"].config.recording, cameras["zed"].config.serial) == ("/r/b.svo2", "12345")
    old.write_text("devices:\n  cam: {spec: orbbec, options: {laser: false, emitter: true}}\n")
    with pytest.raises(CaptureError, match=r"devices.cam.options: give 'emitter' only \('laser' is its old name\)"):
        load_rig(old)


def test_cli_record_and_bad_session(tmp_path):
    from depthcur.cli import app

    folder = replay_folder(tmp_path / "replay")
    runner = CliRunner()
    result = runner.invoke(app, ["capture", "record", "--device", f"replay:{folder}", "--frames", "3", "--out",
                                 str(tmp_path / "out"), "--session", "cli", "--category", "museum",
                                 "--min-free-mb", "0"])
    assert result.exit_code == 0, result.output
    assert len(scan_samples(tmp_path / "out").samples) == 3
    result = runner.invoke(app, ["capture", "record", "--device", f"replay:{folder}", "--out",
                                 str(tmp_path / "out"), "--session", "../../etc"])
    assert result.exit_code == 2 and "is not allowed" in result.output  # a usage error: nothing was captured


def test_rig_connect_failure_names_the_device_and_releases_the_others(tmp_path):
    from depthcur.capture.rig import DeviceConfig

    good = replay_folder(tmp_path / "good", n=1)
    config = RigConfig(devices={"front": DeviceConfig(f"replay:{good}"),
                                "side": DeviceConfig(f"replay:{tmp_path / 'missing'}")}, primary="front")
    rig = Rig(config)
    with pytest.raises(CaptureError, match="device side: replay: .*missing"):
        rig.connect()
    assert not rig.cameras["front"].is_connected


def test_cli_record_reads_a_config_file(tmp_path):
    from depthcur.cli import app

    folder = replay_folder(tmp_path / "replay")
    config = tmp_path / "record.yaml"
    config.write_text(f"device: replay:{folder}\nframes: 2\nout: {tmp_path / 'out'}\nsession: from-yaml\n"
                      f"category: hotel\nmin-free-mb: 0\n")
    result = CliRunner().invoke(app, ["capture", "record", "--config", str(config)])
    assert result.exit_code == 0, result.output
    samples = scan_samples(tmp_path / "out" / "from-yaml").samples
    assert len(samples) == 2 and read_sample(samples[0]).scene_category == "hotel"


def test_disk_guard_message_keeps_small_sizes_readable():
    """Sizes below a megabyte are not rounded away ("0 MB free ... needs about 0 MB")."""
    guard = DiskGuard(min_free_bytes=1000, free_bytes=lambda _path: 3000)
    with pytest.raises(DiskSpaceError, match=r"3 kB free on .*needs about 2.5 kB and 1 kB must stay free"):
        guard.check(Path("."), needed_bytes=2500)
    big = DiskGuard(min_free_bytes=2 * 1024 ** 3, free_bytes=lambda _path: 1_234_000_000)
    with pytest.raises(DiskSpaceError, match=r"1.23 GB free on .*needs about 812 B and 2.15 GB must stay free"):
        big.check(Path("."), needed_bytes=812)
