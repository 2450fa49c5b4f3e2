"""LiDAR projection: geometric properties, calibration and point-file errors, virtual LiDAR."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from depthcur.curate.lidar import (VirtualLidarConfig, backproject_depth, project_points, read_calib, read_points,
                                   virtual_lidar)
from depthcur.schemas import Intrinsics, SchemaError

K = Intrinsics(80.0, 80.0, 31.5, 23.5)


def load_bench_reference():
    """The bench's baseline: the straightforward projection and z-buffer the fast path must equal."""
    path = Path(__file__).resolve().parents[1] / "bench" / "curate.py"
    spec = importlib.util.spec_from_file_location("bench_curate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.project_points_reference


project_points_reference = load_bench_reference()


def rotation(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def pose(yaw=0.3, t=(0.2, -0.1, 0.5)) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rotation(yaw), t
    return m


def known_depth(seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(1.0, 9.0, (48, 64)).astype(np.float32)


def test_points_from_depth_and_pose_reproject_to_same_pixels_and_depths():
    depth = known_depth()
    t_cam_from_lidar = pose()
    points_cam = backproject_depth(depth, K)
    lidar_from_cam = np.linalg.inv(t_cam_from_lidar)
    points_lidar = points_cam @ lidar_from_cam[:3, :3].T + lidar_from_cam[:3, 3]
    projected, valid = project_points(points_lidar, K, t_cam_from_lidar, depth.shape)
    assert valid.all()
    np.testing.assert_allclose(projected, depth, rtol=1e-5)


def test_occluded_points_lose_to_nearer_ones():
    near = np.array([[0.0, 0.0, 2.0]])
    far = near * 3.0  # same ray, farther
    rng = np.random.default_rng(0)
    order = rng.permutation(np.vstack([far, near, far * 1.5, near * 1.01]))
    for fn in (project_points, project_points_reference):
        depth, valid = fn(order, K, None, (48, 64))
        assert valid.sum() == 1
        assert depth[valid][0] == pytest.approx(2.0)


def test_points_behind_camera_or_outside_image_are_dropped():
    pts = np.array([[0.0, 0.0, -2.0], [0.0, 0.0, 0.0], [100.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    depth, valid = project_points(pts, K, None, (48, 64))
    assert valid.sum() == 1 and depth.max() == pytest.approx(3.0)


@pytest.mark.parametrize("columns", [3, 4])
def test_fast_projection_matches_reference(columns):
    rng = np.random.default_rng(4)
    for seed in range(4):
        pts = rng.uniform([-20, -5, -5, 0][:columns], [20, 5, 40, 1][:columns], (20000 + seed, columns))
        pts[::97, 2] = 0.0            # on the camera plane
        pts[::101] = np.nan           # a bad return
        for t in (pose(rng.uniform(-3, 3), rng.uniform(-1, 1, 3)), None, np.eye(4)):
            for cloud in (pts, pts.astype(np.float32)):
                a, valid = project_points(cloud, K, t, (48, 64))
                b, _ = project_points_reference(cloud, K, t, (48, 64))
                np.testing.assert_array_equal(a, b)
                np.testing.assert_array_equal(valid, a > 0)
    kitti_k, kitti_shape = Intrinsics(721.5, 721.5, 609.5, 172.8), (375, 1242)   # the bench's camera
    cloud = rng.uniform([-40, -3, -40], [40, 3, 40], (200_000, 3)).astype(np.float32)
    np.testing.assert_array_equal(project_points(cloud, kitti_k, pose(), kitti_shape)[0],
                                  project_points_reference(cloud, kitti_k, pose(), kitti_shape)[0])


def test_point_readers(tmp_path):
    pts = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    pts.tofile(tmp_path / "a.bin")
    np.testing.assert_array_equal(read_points(tmp_path / "a.bin"), pts[:, :3])
    np.save(tmp_path / "b.npy", pts[:, :3])
    np.testing.assert_array_equal(read_points(tmp_path / "b.npy"), pts[:, :3])
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts[:, :3].astype(np.float64)))
    o3d.io.write_point_cloud(str(tmp_path / "c.ply"), cloud)
    np.testing.assert_allclose(read_points(tmp_path / "c.ply"), pts[:, :3], atol=1e-6)


def test_truncated_bin_names_the_file(tmp_path):
    path = tmp_path / "000001.bin"
    path.write_bytes(np.zeros(10, np.float32).tobytes()[:-2])
    with pytest.raises(SchemaError, match=r"000001\.bin.*truncated"):
        read_points(path)


KITTI_CALIB = """P0: 700 0 600 0 0 700 180 0 0 0 1 0
P2: 721.5 0 609.5 44.85 0 721.5 172.8 0.2163 0 0 1 0.002745
R0_rect: 1 0 0 0 1 0 0 0 1
Tr_velo_to_cam: 0 -1 0 0 0 0 -1 -0.08 1 0 0 -0.27
"""


def test_kitti_calib_projects_forward_points(tmp_path):
    (tmp_path / "calib.txt").write_text(KITTI_CALIB)
    calib = read_calib(tmp_path / "calib.txt")
    assert calib.K.fx == pytest.approx(721.5)
    # a LiDAR point 10 m ahead (x forward) lands ~10 m in front of the camera
    depth, valid = project_points(np.array([[10.0, 0.0, 0.0]]), calib.K, calib.T_cam_from_lidar, (375, 1242))
    assert valid.sum() == 1 and depth[valid][0] == pytest.approx(10.0 - 0.27 + 0.002745, abs=1e-4)


def test_calib_missing_keys_name_file_and_key(tmp_path):
    (tmp_path / "calib.txt").write_text("P2: 721.5 0 609.5 0 0 721.5 172.8 0 0 0 1 0\n")
    with pytest.raises(SchemaError, match=r"calib\.txt.*Tr_velo_to_cam"):
        read_calib(tmp_path / "calib.txt")
    (tmp_path / "c.json").write_text(json.dumps({"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}))
    with pytest.raises(SchemaError, match=r"c\.json.*T_cam_from_lidar"):
        read_calib(tmp_path / "c.json")


def test_virtual_lidar_rings_are_sparse_and_exact():
    depth = known_depth(1)
    sparse = virtual_lidar(depth, K, VirtualLidarConfig(n_lines=8, azimuth_step_deg=1.0))
    hit = sparse > 0
    assert 0 < hit.mean() < 0.3
    np.testing.assert_array_equal(sparse[hit], depth[hit])
    # each ring's returns form one curve: at most one hit per (ring, column), so ≤ 8 per column
    assert hit.sum(axis=0).max() <= 8
    more = virtual_lidar(depth, K, VirtualLidarConfig(n_lines=16, azimuth_step_deg=1.0))
    assert (more > 0).sum() > hit.sum()


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 400), st.floats(-np.pi, np.pi))
def test_zbuffer_keeps_the_minimum_depth_of_each_pixel(seed, count, yaw):
    rng = np.random.default_rng(seed)
    pts = rng.uniform([-3, -3, -2], [3, 3, 6], (count, 3))
    t = pose(yaw, rng.uniform(-1, 1, 3))
    depth, valid = project_points(pts, K, t, (48, 64))
    cam = pts @ t[:3, :3].T + t[:3, 3]
    front = cam[:, 2] > 1e-3
    u = np.rint(K.fx * cam[front, 0] / cam[front, 2] + K.cx)
    v = np.rint(K.fy * cam[front, 1] / cam[front, 2] + K.cy)
    inside = (u >= 0) & (u < 64) & (v >= 0) & (v < 48)
    expected = np.zeros((48, 64), np.float32)
    for uu, vv, z in sorted(zip(u[inside], v[inside], cam[front, 2][inside].astype(np.float32)),
                            key=lambda p: -p[2]):
        expected[int(vv), int(uu)] = z
    np.testing.assert_array_equal(depth, expected)
    assert valid.sum() == len({(a, b) for a, b in zip(u[inside], v[inside])})
