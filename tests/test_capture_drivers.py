"""Drivers: RealSense against the real SDK (software device -> .db3 -> playback), replay, and the
clear messages of Orbbec / ZED without SDK or device."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from depthcur.capture.cameras import (CaptureError, DeviceNotFoundError, EndOfStream, Frame, SdkNotInstalledError,
                                      make_camera, parse_device_spec)
from depthcur.capture.cameras.base import rigid_transform
from depthcur.schemas import Intrinsics, write_sample
from depthcur.synthetic import make_sample

rs = pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed (pip install pyrealsense2)")


def stereo_frames(n: int, *, seed: int = 0) -> list[Frame]:
    """Frames with distinct IR/colour sizes, a non-trivial depth→colour pose and 0.1 mm depth units."""
    rng = np.random.default_rng(seed)
    h, w, ch, cw = 48, 64, 60, 80
    units = 0.0001
    T = rigid_transform(np.eye(3), [0.015, -0.002, 0.001])
    frames = []
    for n_ in range(n):
        depth_units = rng.integers(0, 40000, (h, w)).astype(np.uint16)
        depth_units[rng.random((h, w)) < 0.2] = 0
        frames.append(Frame(
            rgb=rng.integers(0, 256, (ch, cw, 3), dtype=np.uint8),
            depth_raw=depth_units.astype(np.float32) * np.float32(units),
            K_rgb=Intrinsics(70.25, 70.5, 39.5, 29.75), K_depth=Intrinsics(50.5, 50.25, 31.5, 23.75),
            ir_left=rng.integers(0, 256, (h, w), dtype=np.uint8), ir_right=rng.integers(0, 256, (h, w), dtype=np.uint8),
            K_ir=Intrinsics(50.5, 50.25, 31.5, 23.75), baseline_m=0.0495, T_rgb_from_depth=T, T_rgb_from_ir=T,
            depth_scale=units, frame_number=n_))
    return frames


def test_realsense_software_device_recording_plays_back_exactly(tmp_path):
    from depthcur.capture.cameras.realsense.software import write_recording

    frames = stereo_frames(6)
    path = write_recording(tmp_path / "rig.db3", frames, serial="842412345678")
    camera = make_camera(f"realsense:{path}")
    got = []
    with camera:
        info = camera.info()
        while True:
            try:
                got.append(camera.read())
            except EndOfStream:
                break
    assert info.serial == "842412345678"
    assert [f.frame_number for f in got] == list(range(len(frames)))      # every recorded frame, in order
    for frame in got:
        sent = frames[frame.frame_number]
        assert frame.K_ir.as_list() == pytest.approx(sent.K_ir.as_list(), abs=1e-5)
        assert frame.K_depth.as_list() == pytest.approx(sent.K_depth.as_list(), abs=1e-5)
        assert frame.K_rgb.as_list() == pytest.approx(sent.K_rgb.as_list(), abs=1e-5)
        assert frame.baseline_m == pytest.approx(0.0495, abs=1e-7)
        assert frame.depth_scale == pytest.approx(0.0001, rel=1e-6)
        np.testing.assert_allclose(frame.T_rgb_from_depth, sent.T_rgb_from_depth, atol=1e-7)
        np.testing.assert_array_equal(np.rint(frame.depth_raw / frame.depth_scale),
                                      np.rint(sent.depth_raw / sent.depth_scale))
        np.testing.assert_array_equal(frame.ir_left, sent.ir_left)
        np.testing.assert_array_equal(frame.ir_right, sent.ir_right)
        np.testing.assert_array_equal(frame.rgb, sent.rgb)
        assert frame.rgb.shape == (60, 80, 3) and frame.depth_raw.shape == (48, 64)
        assert not frame.registered_to_rgb


def test_realsense_without_camera_says_how_to_proceed(monkeypatch):
    import pyrealsense2

    class NoDevices:
        def query_devices(self):
            return []

    monkeypatch.setattr(pyrealsense2, "context", NoDevices)
    with pytest.raises(DeviceNotFoundError, match="no RealSense device is connected.*replay"):
        make_camera("realsense").connect()


def test_realsense_missing_recording_names_the_file(tmp_path):
    with pytest.raises(DeviceNotFoundError, match="missing.db3 does not exist"):
        make_camera(f"realsense:{tmp_path / 'missing.db3'}").connect()


def test_orbbec_without_device_gives_clear_message():
    pytest.importorskip("pyorbbecsdk", reason="pyorbbecsdk2 is not installed")
    with pytest.raises(DeviceNotFoundError, match="no Orbbec device is connected.*udev"):
        make_camera("orbbec").connect()


def test_orbbec_without_sdk_gives_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyorbbecsdk", None)  # import now raises ImportError
    with pytest.raises(SdkNotInstalledError, match=r"pip install --no-deps pyorbbecsdk2==2\.1\.2"):
        make_camera("orbbec:AY1234").connect()


def test_zed_without_sdk_points_to_the_zed_sdk_not_pypi(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyzed.sl", None)
    with pytest.raises(SdkNotInstalledError) as info:
        make_camera("zed").connect()
    message = str(info.value)
    assert "ZED SDK" in message and "get_python_api.py" in message and "unrelated" in message


@pytest.mark.hardware
def test_realsense_live_device_streams():
    if len(rs.context().query_devices()) == 0:
        pytest.skip("no RealSense camera connected")
    with make_camera("realsense") as camera:
        frame = camera.read()
    assert frame.depth_raw.dtype == np.float32 and frame.ir_left is not None and frame.baseline_m > 0.01


@pytest.mark.hardware
def test_orbbec_live_device_streams():
    ob = pytest.importorskip("pyorbbecsdk", reason="pyorbbecsdk2 is not installed")
    if ob.Context().query_devices().get_count() == 0:
        pytest.skip("no Orbbec camera connected")
    with make_camera("orbbec") as camera:
        frame = camera.read()
    assert frame.ir_right is not None and frame.baseline_m > 0.01


@pytest.mark.hardware
def test_zed_live_device_streams():
    pytest.importorskip("pyzed.sl", reason="the ZED SDK (pyzed.sl) is not installed")
    with make_camera("zed") as camera:
        frame = camera.read()
    assert frame.baseline_m > 0.01


def test_replay_plays_sample_folders_in_order_and_paced(tmp_path):
    import time

    samples = [make_sample(f"s/{i:03d}", height=24, width=32, seed=i) for i in range(3)]
    for s in samples:
        write_sample(tmp_path, s)
    camera = make_camera(f"replay:{tmp_path}", {"fps": 50, "loop": False})
    start = time.monotonic()
    with camera:
        frames = [camera.read() for _ in range(3)]
        with pytest.raises(EndOfStream):
            camera.read()
    assert time.monotonic() - start >= 2 / 50 * 0.9    # three frames at 50 fps span two periods
    for frame, sample in zip(frames, samples):
        assert np.abs(frame.depth_raw - sample.depth_raw).max() <= 0.0005 + 1e-6   # mm PNG quantisation
        np.testing.assert_array_equal(frame.ir_left, sample.ir_left)
        assert frame.baseline_m == pytest.approx(sample.baseline_m)
        assert frame.registered_to_rgb


def test_bad_specs_are_rejected_with_the_spec_named(tmp_path):
    with pytest.raises(CaptureError, match="unknown device kind 'kinect'"):
        parse_device_spec("kinect")
    with pytest.raises(CaptureError, match="replay needs a folder"):
        parse_device_spec("replay")
    with pytest.raises(DeviceNotFoundError, match="no raw sample folders"):
        make_camera(f"replay:{tmp_path}").connect()
    with pytest.raises(CaptureError, match="unknown option.*exposure"):
        make_camera("realsense", {"exposure": 3})


def test_specs_fill_the_shared_config_fields_of_the_registered_driver(tmp_path):
    orbbec = make_camera("orbbec:/r/a.bag", {"emitter": False})
    assert (orbbec.kind, orbbec.config.recording, orbbec.config.serial, orbbec.config.emitter) == \
        ("orbbec", "/r/a.bag", None, False)
    assert make_camera("zed:12345").config.serial == "12345"           # one serial type for every driver
    recording = make_camera("replay:/r/c.db3", {"fps": 5})              # a RealSense recording given as replay
    assert (recording.kind, recording.config.recording, recording.config.fps) == ("realsense", "/r/c.db3", 30)
    replay = make_camera(f"replay:{tmp_path}", {"fps": 5})
    assert (replay.kind, replay.config.path, replay.config.fps) == ("replay", str(tmp_path), 5)
    with pytest.raises(CaptureError, match="zed has no width/height option; set the ZED's image size with resolution"):
        make_camera("zed", {"width": 640})
    with pytest.raises(CaptureError, match="unknown device kind 'kinect'; use one of orbbec, realsense, replay, zed"):
        make_camera("kinect")
