"""Raw sample folders: atomic writes, leftovers reported and ignored, clear read errors."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from depthcur.schemas import SchemaError, read_sample, sample_dir, scan_samples, write_sample
from depthcur.schemas.folder import read_encoded
from depthcur.synthetic import make_sample


def test_write_then_read_round_trips(tmp_path):
    sample = make_sample("real/rig_a/cam0/000001", height=20, width=24, seed=2)
    path = write_sample(tmp_path, sample)
    assert path == sample_dir(tmp_path, sample.key) == tmp_path / "real/rig_a/cam0/000001"
    back = read_sample(path)
    assert back.key == sample.key
    np.testing.assert_array_equal(back.instance_mask, sample.instance_mask)
    np.testing.assert_array_equal(back.material_mask, sample.material_mask)
    assert back.material_mask.dtype == np.uint8 and set(np.unique(back.material_mask)) == {1, 2}
    assert sorted(p.name for p in path.iterdir()) == sorted(
        ["meta.json", "rgb.png", "depth_raw.png", "depth_gt.png", "ir_left.png", "ir_right.png",
         "disparity_gt.npy", "instance_mask.png", "material_mask.png"])


def test_existing_sample_is_not_silently_overwritten(tmp_path):
    sample = make_sample("sim/a/1", height=8, width=8, seed=0)
    write_sample(tmp_path, sample)
    with pytest.raises(FileExistsError):
        write_sample(tmp_path, sample)
    write_sample(tmp_path, sample.replace(dataset="other"), overwrite=True)
    assert read_sample(sample_dir(tmp_path, "sim/a/1")).dataset == "other"
    assert [p.name for p in (tmp_path / "sim/a").iterdir()] == ["1"]  # no trash left behind


def test_invalid_sample_writes_nothing(tmp_path):
    sample = make_sample("sim/a/1", height=8, width=8, seed=0)
    with pytest.raises(SchemaError):
        write_sample(tmp_path, sample.replace(depth_gt=sample.depth_gt * np.nan))
    assert not any(tmp_path.rglob("*"))


def test_crash_mid_write_leaves_only_a_hidden_leftover(tmp_path, monkeypatch):
    sample = make_sample("sim/a/1", height=8, width=8, seed=0)
    real_open = open
    calls = {"n": 0}

    def failing_open(file, mode="r", *args, **kwargs):
        if "w" in mode and str(file).endswith("ir_left.png"):
            calls["n"] += 1
            raise OSError("disk full")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(OSError, match="disk full"):
        write_sample(tmp_path, sample)
    monkeypatch.undo()
    assert calls["n"] == 1
    scan = scan_samples(tmp_path)
    assert scan.samples == [] and scan.leftovers == []  # the writer cleaned its temp folder
    # a hard kill cannot clean up: simulate its leftover and check readers skip and report it
    write_sample(tmp_path, sample)
    shutil.copytree(sample_dir(tmp_path, "sim/a/1"), tmp_path / "sim/a/.tmp-2-deadbeef")
    os.remove(tmp_path / "sim/a/.tmp-2-deadbeef/meta.json")
    scan = scan_samples(tmp_path)
    assert scan.samples == [sample_dir(tmp_path, "sim/a/1")]
    assert scan.leftovers == [tmp_path / "sim/a/.tmp-2-deadbeef"]


def test_read_errors_name_the_file_and_field(tmp_path):
    path = write_sample(tmp_path, make_sample("sim/a/1", height=8, width=8, seed=0))
    (path / "depth_gt.png").write_bytes((path / "depth_gt.png").read_bytes()[:30])
    with pytest.raises(SchemaError) as info:
        read_sample(path)
    assert str(path) in str(info.value) and "'depth_gt'" in str(info.value)
    (path / "ir_left.png").unlink()
    with pytest.raises(SchemaError, match="ir_left.png.*missing|missing.*ir_left"):
        read_encoded(path)
    (path / "meta.json").write_text("{not json")
    with pytest.raises(SchemaError, match="meta.json is not valid JSON"):
        read_sample(path)


def test_scan_of_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SchemaError, match="does not exist"):
        scan_samples(tmp_path / "nope")
