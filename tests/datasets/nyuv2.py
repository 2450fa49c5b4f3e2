"""A tiny NYU Depth v2: the labeled set (three 16×12 frames) with its split, and one raw scene.

``nyu_depth_v2_labeled.mat`` is written as MATLAB v7.3 writes it: an HDF5 file behind a 512-byte
header, every array with MATLAB's column-major axes reversed (``images`` N×3×W×H uint8, ``depths`` and
``rawDepths`` N×W×H float32 metres), ``scenes`` a cell array of references to uint16 character
arrays. ``splits.mat`` is MATLAB v5 with 1-based column vectors ``trainNdxs`` / ``testNdxs``.

The raw scene ``bedroom_0001`` has an ``INDEX.txt``, two RGB frames (``r-TIME-FRAME.ppm``), one depth
frame (``d-TIME-FRAME.pgm``, 16-bit words stored little-endian as the Kinect dumps are, which the
toolbox undoes with ``swapbytes``) and an accelerometer dump. The depth frame is 2047 (no reading)
everywhere but ``RAW_PIXEL``, where it holds ``RAW_VALUE``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDTH, HEIGHT = 16, 12
FRAMES = 3
TRAIN, TEST = [1, 3], [2]
SCENES = ["bedroom_0001", "kitchen_0003", "office_0007"]
#: labeled depths: frame n (1-based) is n + 0.25·row + 0.125·col metres; rawDepths the same with holes
HOLES = [(0, 0), (5, 9)]

RAW_SCENE = "bedroom_0001"
DEPTH_FRAME = "d-1315403270.612296-3058196491.pgm"
RGB_FRAMES = ["r-1315403270.593277-3059296491.ppm", "r-1315403270.640941-3060407625.ppm"]
ACCEL_FRAME = "a-1315403270.602290-3058736541.dump"
#: (row, col) of the one depth-camera pixel with a reading, and its 11-bit disparity
RAW_PIXEL, RAW_VALUE = (6, 8), 800
NO_READING = 2047


def labeled_depth(frame: int) -> np.ndarray:
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    return (frame + 0.25 * rows + 0.125 * cols).astype(np.float32)


def labeled_rgb(frame: int) -> np.ndarray:
    return np.random.default_rng(10 + frame).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def matlab_header() -> bytes:
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Sep  5 12:00:00 2011 HDF5 schema 1.00 ."
    return text.ljust(116) + b"\x00" * 8 + b"\x00\x02" + b"IM"


def write_labeled(path: Path, *, arrays: tuple[str, ...] = ("images", "depths", "rawDepths")) -> None:
    import h5py

    images = np.stack([labeled_rgb(n).transpose(2, 1, 0) for n in range(1, FRAMES + 1)])       # N×3×W×H
    depths = np.stack([labeled_depth(n).T for n in range(1, FRAMES + 1)])                      # N×W×H
    raw = depths.copy()
    for row, col in HOLES:
        raw[:, col, row] = 0
    with h5py.File(path, "w", userblock_size=512) as mat:
        data = {"images": images, "depths": depths, "rawDepths": raw}
        for name in arrays:
            mat.create_dataset(name, data=data[name])
        refs = mat.create_group("#refs#")
        scene_refs = mat.create_dataset("scenes", (1, FRAMES), dtype=h5py.ref_dtype)
        for i, scene in enumerate(SCENES):
            chars = refs.create_dataset(f"s{i}", data=np.array([[ord(c)] for c in scene], np.uint16))
            scene_refs[0, i] = chars.ref
    with open(path, "r+b") as f:
        f.write(matlab_header())


def netpbm(magic: str, width: int, height: int, maxval: int, pixels: bytes) -> bytes:
    return f"{magic}\n{width} {height}\n{maxval}\n".encode() + pixels


def write_raw_scene(scene: Path, *, byte_order: str = "<", size: tuple[int, int] = (WIDTH, HEIGHT),
                    readings: dict[tuple[int, int], int] | None = None) -> None:
    """The raw scene at ``size`` (width, height); ``readings`` (row, col) -> disparity, default RAW_PIXEL."""
    width, height = size
    scene.mkdir(parents=True, exist_ok=True)
    disparity = np.full((height, width), NO_READING, np.uint16)
    for pixel, value in (readings or {RAW_PIXEL: RAW_VALUE}).items():
        disparity[pixel] = value
    (scene / DEPTH_FRAME).write_bytes(netpbm("P5", width, height, 65535,
                                             disparity.astype(f"{byte_order}u2").tobytes()))
    for n, name in enumerate(RGB_FRAMES):
        rgb = np.full((height, width, 3), 40 * (n + 1), np.uint8)
        (scene / name).write_bytes(netpbm("P6", width, height, 255, rgb.tobytes()))
    (scene / ACCEL_FRAME).write_bytes(np.zeros(4, "<f8").tobytes())
    (scene / "INDEX.txt").write_text("\n".join(sorted([DEPTH_FRAME, ACCEL_FRAME, *RGB_FRAMES])) + "\n")


def build(root: Path) -> Path:
    from scipy.io import savemat

    root.mkdir(parents=True, exist_ok=True)
    write_labeled(root / "nyu_depth_v2_labeled.mat")
    savemat(root / "splits.mat", {"trainNdxs": np.array(TRAIN, float).reshape(-1, 1),
                                  "testNdxs": np.array(TEST, float).reshape(-1, 1)}, do_compression=True)
    write_raw_scene(root / RAW_SCENE)
    return root
