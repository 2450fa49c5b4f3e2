"""The README's main job end to end: ``depthcur demo --quick``, its report, its claim, its resume."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

# the quick demo takes ~2-3 min on 2 idle cores; the margin is for loaded machines
pytestmark = [pytest.mark.slow, pytest.mark.blender, pytest.mark.timeout(1800)]

STEP_COUNT = 13


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.targets += [value for name, value in attrs if name in ("href", "src") and value]


def run_demo(depthcur_cmd: list[str], out: Path) -> subprocess.CompletedProcess:
    """The CLI as a user runs it; the console (progress, step lines, headline) is on stderr."""
    proc = subprocess.run([*depthcur_cmd, "demo", "--quick", "--out", str(out)], capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, f"demo failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def demo(depthcur_cmd, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    proc = run_demo(depthcur_cmd, out)
    return out, proc, json.loads((out / "evaluate/metrics.json").read_text())


def raw_rows(metrics: dict) -> dict[str, dict]:
    return {row["model"].split(":")[0]: row for row in metrics["summary"] if row["protocol"] == "raw"}


def test_every_stage_ran_and_every_report_link_resolves(demo):
    from depthcur.curate.shards.verify import verify_shards

    out, _, metrics = demo
    assert len(list((out / ".steps").glob("*.json"))) == STEP_COUNT
    parser = _References()
    parser.feed((out / "report.html").read_text())
    assert len(parser.targets) >= 10
    missing = [t for t in parser.targets if not (out / t).exists()]
    assert not missing, f"report.html links to files that do not exist: {missing}"
    for shards in ("train", "stereo", "virtual_lidar", "test"):
        report = verify_shards(out / "shards" / shards)
        assert report.ok and report.samples_decoded > 0, (shards, report.problems)
    protocols = {row["protocol"] for row in metrics["summary"]}
    assert protocols == {"raw", "block-mask:medium", "points:100"}
    for protocol in protocols:
        models = {row["model"].split(":")[0] for row in metrics["summary"] if row["protocol"] == protocol}
        assert models == {"raw-depth", "fill-nearest", "inpaint", "mdm", "prompt", "distill"}, protocol


def test_mdm_beats_the_sensor_on_coverage_and_nearest_fill_on_missed_pixels(demo):
    out, proc, metrics = demo
    rows = raw_rows(metrics)
    sensor, nearest, mdm = rows["raw-depth"], rows["fill-nearest"], rows["mdm"]
    assert 0.2 < sensor["coverage"] < 0.95           # the SGM sensor really has holes
    assert mdm["coverage"] == 1.0 > sensor["coverage"]
    assert mdm["missed_absrel"] < nearest["missed_absrel"]
    # the headline in the report and on the console quotes these numbers
    report = (out / "report.html").read_text()
    assert f"{mdm['missed_absrel']:.3f}" in report and f"{nearest['missed_absrel']:.3f}" in report
    assert re.search(rf"AbsRel on the pixels the sensor missed {mdm['missed_absrel']:.3f} vs nearest-fill "
                     rf"{nearest['missed_absrel']:.3f}", proc.stdout + proc.stderr)


def test_missed_pixel_numbers_mean_what_they_say(demo):
    """Recompute the claim outside the evaluation runner: per held-out sample, AbsRel on the
    valid GT pixels where the sensor depth is 0, for the MDM checkpoint and nearest-fill."""
    from depthcur.evaluate.baselines import FillNearest
    from depthcur.evaluate.data import iter_samples
    from depthcur.train.inference import load_predictor

    out, _, metrics = demo
    mdm, nearest = load_predictor(out / "train/mdm"), FillNearest()
    errors: dict[str, list[float]] = {"mdm": [], "fill-nearest": []}
    for sample in iter_samples([str(out / "shards/test")]):
        missed = (sample.depth_gt > 0) & ~(sample.depth_raw > 0)
        for name, model in (("mdm", mdm), ("fill-nearest", nearest)):
            pred = model.predict(sample.rgb, sample.depth_raw, sample.K_rgb)
            gt = sample.depth_gt[missed]
            errors[name].append(float(np.mean(np.abs(pred[missed] - gt) / gt)))
    rows = raw_rows(metrics)
    assert len(errors["mdm"]) == rows["mdm"]["samples"] >= 2
    for name, key in (("mdm", "mdm"), ("fill-nearest", "fill-nearest")):
        assert np.mean(errors[name]) == pytest.approx(rows[key]["missed_absrel"], rel=1e-4)


def test_a_rerun_skips_every_finished_step(demo, depthcur_cmd):
    out, _, metrics = demo
    before = (out / "evaluate/metrics.json").read_bytes()
    proc = run_demo(depthcur_cmd, out)
    assert (proc.stdout + proc.stderr).count("done in an earlier run, skipped") == STEP_COUNT
    assert (out / "evaluate/metrics.json").read_bytes() == before
