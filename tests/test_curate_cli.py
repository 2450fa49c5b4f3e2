"""The curate verbs end to end on Ray (one local Ray for the module): outputs, resume, quarantine, report."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from depthcur.cli import app
from depthcur.schemas import read_sample, sample_exists, scan_samples, write_sample
from depthcur.synthetic import make_sample

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from depthcur.core.ray_runner import init_ray, shutdown_ray

    init_ray("local")  # a private instance even when someone runs `ray start` on this machine
    yield
    shutdown_ray()


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    for i in range(3):
        s = make_sample(f"syn/s{i}", height=60, width=80, seed=i)
        s.provenance["instance_categories"] = {"1": "wall", "2": "box"}
        write_sample(root, s)
    flat = make_sample("syn/flat", height=60, width=80, seed=9)
    write_sample(root, flat.replace(depth_gt=np.full_like(flat.depth_gt, 3.0)))
    return root


def invoke(*args):
    result = runner.invoke(app, ["curate", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


def test_stereo_verb_labels_and_resumes(raw, tmp_path):
    out = tmp_path / "st"
    assert "4 done" in invoke("stereo", "--in", raw, "--out", out, "--num-disparities", 32)
    labelled = read_sample(out / "syn" / "s0")
    assert labelled.depth_gt_kind.value == "stereo_pseudo" and 0 < labelled.stats["lr_consistent_ratio"] <= 1
    # a killed run leaves a temp folder and a missing sample: the rerun redoes exactly that one
    import shutil

    shutil.rmtree(out / "syn" / "s1")
    (out / "syn" / ".tmp-s1-deadbeef").mkdir()
    assert "1 done, 3 already complete" in invoke("stereo", "--in", raw, "--out", out, "--num-disparities", 32)
    assert sample_exists(out, "syn/s1")


def test_foundation_stereo_without_paths_fails_clearly(raw, tmp_path):
    result = runner.invoke(app, ["curate", "stereo", "--in", str(raw), "--out", str(tmp_path),
                                 "--matcher", "foundation-stereo"])
    assert result.exit_code != 0 and "--fs-repo" in result.output


def test_filter_quarantines_with_reasons(raw, tmp_path):
    out = tmp_path / "f"
    invoke("filter", "--in", raw, "--out", out)
    report = json.loads((out / "filter_report.json").read_text())
    assert list(report["quarantined"]) == ["syn/flat"] and "constant" in report["quarantined"]["syn/flat"][0]
    quarantined = read_sample(out / "quarantine" / "syn" / "flat")
    assert quarantined.provenance["filter"]["reasons"]
    assert len(scan_samples(out / "accepted").samples) == 3


def test_vqa_fde_and_report_verbs(raw, tmp_path):
    invoke("vqa", "--in", raw, "--out", tmp_path / "v", "--points-per-image", 2, "--focal", 400)
    lines = (tmp_path / "v" / "vqa.jsonl").read_text().splitlines()
    assert len(lines) == 8 and "meters away from the camera" in json.loads(lines[0])["answer"]
    invoke("fde", "--in", raw, "--out", tmp_path / "d")
    triplets = [json.loads(x) for split in ("train", "val", "test")
                for x in (tmp_path / "d" / f"{split}.jsonl").read_text().splitlines()]
    assert sorted(t["text"] for t in triplets) == ["box", "box", "box", "object"]  # syn/flat has no names
    by_source = {}
    for t in triplets:
        by_source.setdefault(t["source_key"], set()).add(t["split"])
    assert all(len(splits) == 1 for splits in by_source.values())
    output = invoke("report", "--in", raw, "--out", tmp_path / "r", "--gallery-size", 2)
    assert "index.html" in output
    page = (tmp_path / "r" / "index.html").read_text()
    assert "mask_ratio_hist.png" in page and "depth_range.png" in page
    assert len(list((tmp_path / "r" / "gallery").glob("*.png"))) == 2


def test_import_export_and_lidar_verbs(raw, tmp_path):
    invoke("export", "--format", "lingbot", "--in", raw, "--out", tmp_path / "lb")
    invoke("import", "--format", "lingbot", "--in", tmp_path / "lb", "--out", tmp_path / "back")
    assert len(scan_samples(tmp_path / "back").samples) == 4
    assert "0 done, 4 already complete" in invoke("import", "--format", "lingbot", "--in", tmp_path / "lb",
                                                   "--out", tmp_path / "back")
    s = read_sample(raw / "syn" / "s0")
    from depthcur.curate.lidar import backproject_depth
    import cv2

    (tmp_path / "scans").mkdir()
    (tmp_path / "images").mkdir()
    np.save(tmp_path / "scans" / "f0.npy", backproject_depth(s.depth_gt, s.K_rgb))
    cv2.imwrite(str(tmp_path / "images" / "f0.png"), s.rgb[..., ::-1])
    (tmp_path / "calib.json").write_text(json.dumps({"K": s.K_rgb.as_list(), "T_cam_from_lidar": np.eye(4).tolist()}))
    invoke("lidar", "--points", tmp_path / "scans", "--images", tmp_path / "images", "--calib",
           tmp_path / "calib.json", "--out", tmp_path / "lid")
    lidar = read_sample(tmp_path / "lid" / "lidar" / "f0")
    assert lidar.depth_gt_kind.value == "lidar"
    np.testing.assert_allclose(lidar.depth_gt, s.depth_gt, atol=6e-4)  # mm PNG quantisation
    invoke("lidar", "--virtual", "--in", raw, "--out", tmp_path / "vl", "--n-lines", 16)
    sparse = read_sample(tmp_path / "vl" / "syn" / "s0").depth_raw
    assert 0 < (sparse > 0).mean() < 0.5


def test_missing_input_is_a_clear_error_naming_the_path(tmp_path):
    result = runner.invoke(app, ["curate", "import", "--format", "moge", "--in", str(tmp_path / "nowhere"),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "nowhere" in result.output and "Traceback" not in result.output


def test_a_bad_sample_fails_alone_and_is_named(raw, tmp_path):
    bad = tmp_path / "mixed"
    write_sample(bad, read_sample(raw / "syn" / "s0"))
    no_ir = read_sample(raw / "syn" / "s1").replace(ir_left=None, ir_right=None, disparity_gt=None)
    write_sample(bad, no_ir)
    result = runner.invoke(app, ["curate", "stereo", "--in", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "1 done" in result.output and "syn/s1" in result.output and "ir_left" in result.output


def test_config_file_sets_verb_options(raw, tmp_path):
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("matcher: bogus\nlr_threshold: 0.5\n")
    result = runner.invoke(app, ["curate", "stereo", "--config", str(cfg), "--in", str(raw), "--out",
                                 str(tmp_path / "o")])
    assert result.exit_code == 2 and "bogus" in result.output
    cfg.write_text("num_disparities: 32\nmax_depth: 2.0\n")
    invoke("stereo", "--config", cfg, "--in", raw, "--out", tmp_path / "o")
    labelled = read_sample(tmp_path / "o" / "syn" / "s0")
    params = labelled.provenance["stereo_pseudo_label"]
    assert params["max_depth_m"] == 2.0 and params["matcher_params"]["num_disparities"] == 32
    assert labelled.depth_gt.max() <= 2.0
