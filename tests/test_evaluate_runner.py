"""evaluate: the runner over baselines (and a tiny checkpoint), resume, CLI, and the HTML report."""

import json
import math

import pytest
from typer.testing import CliRunner

from depthcur.evaluate.pipeline import evaluate
from depthcur.evaluate.runner import EvalConfig, record_path, run_evaluation
from depthcur.schemas import write_sample
from depthcur.synthetic import make_sample

PROTOCOLS = ["raw", "block-mask:hard", "points:100", "fde", "depthlm"]


@pytest.fixture(scope="module")
def samples():
    return [make_sample(f"run/s{i}", height=48, width=64, seed=i, dataset="synthA" if i < 2 else "synthB")
            for i in range(3)]


@pytest.fixture(scope="module")
def evaluated(samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    config = EvalConfig(models=["fill-nearest", "inpaint"], data=["memory"], out=out, protocols=PROTOCOLS,
                        gallery_samples=1, worst_cases=1)
    result, report = evaluate(config, samples)
    return config, result, report


def rows(result, protocol, dataset="all"):
    return {r["model"]: r for r in result["summary"] if r["protocol"] == protocol and r["dataset"] == dataset}


def test_raw_depth_is_always_a_row_and_fills_win_coverage(evaluated):
    config, result, _ = evaluated
    assert config.models[0] == "raw-depth"
    raw = rows(result, "raw")
    assert set(raw) == {"raw-depth", "fill-nearest", "inpaint"}
    assert raw["raw-depth"]["coverage"] < 1.0 == raw["fill-nearest"]["coverage"] == raw["inpaint"]["coverage"]
    # the sensor's depth is exact where present; hole filling pays in precision
    assert raw["raw-depth"]["absrel"] < raw["fill-nearest"]["absrel"]
    assert {r["dataset"] for r in result["summary"]} == {"synthA", "synthB", "all"}
    assert rows(result, "raw", "synthA")["raw-depth"]["samples"] == 2


def test_records_hold_protocol_facts_and_region_metrics(evaluated):
    _, result, _ = evaluated
    records = result["records"]
    assert len(records) == 3 * len(PROTOCOLS) * 3
    points = [r for r in records if r["protocol"] == "points:100"]
    assert all(r["input"]["n_points"] == 100 for r in points)
    fde = [r for r in records if r["protocol"] == "fde"]
    assert all(len(r["fde"]) == r["input"]["targets"] >= 1 for r in fde)
    assert rows(result, "fde")["fill-nearest"]["fde"]["boundary"]["absrel"] > 0
    assert all("boundary_f1" not in r for r in records if r["protocol"] == "depthlm")
    assert all(r["epe"] is not None for r in records if r["protocol"] == "raw")   # synthetic has GT disparity
    assert result["block_mask_levels"]["hard"]["mask_fraction"] == 0.6


def test_metrics_json_is_strict_json(evaluated):
    config, _, _ = evaluated
    text = (config.out / "metrics.json").read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in metrics.json"))


def test_resume_skips_finished_samples_and_redoes_changed_settings(evaluated, samples, monkeypatch):
    config, result, _ = evaluated
    from depthcur.evaluate import runner

    calls = []
    real = runner.evaluate_sample
    monkeypatch.setattr(runner, "evaluate_sample", lambda s, c, m: calls.append(s.key) or real(s, c, m))
    record_path(config.out, samples[1].key).unlink()        # as if killed before this sample finished
    again = run_evaluation(config, samples)
    assert calls == [samples[1].key]
    assert again["summary"] == result["summary"]
    changed = EvalConfig(models=["fill-nearest", "inpaint"], data=["memory"], out=config.out, protocols=PROTOCOLS,
                         seed=7)
    calls.clear()
    run_evaluation(changed, samples)
    assert calls == [s.key for s in samples]                 # a different seed is a different run


def test_report_html_has_tables_pictures_and_levels(evaluated):
    _, _, report = evaluated
    text = report.read_text()
    for protocol in PROTOCOLS:
        assert f">{protocol}</h2>" in text
    assert "class='baseline'" in text and "coverage" in text and "worst cases" in text
    assert "Nguyen 2012" in text and "img/mask_ratio_hist.png" in text
    images = [part.split("'")[0] for part in text.split("src='")[1:]]
    assert images and all((report.parent / src).is_file() for src in images)


def test_model_errors_are_clear(tmp_path, samples):
    with pytest.raises(FileNotFoundError, match="--model nope.pt: not a baseline"):
        run_evaluation(EvalConfig(models=["nope.pt"], data=["m"], out=tmp_path), samples)
    with pytest.raises(ValueError, match="unknown protocol"):
        EvalConfig(models=["inpaint"], data=["m"], out=tmp_path, protocols=["bogus"])


def test_cli_reads_raw_sample_folders_and_config(tmp_path, samples):
    from depthcur.cli import app

    data = tmp_path / "raw"
    for s in samples:
        write_sample(data, s)
    cfg = tmp_path / "eval.yaml"
    cfg.write_text("protocol: raw,points:100\nmax_samples: 2\ngallery: 1\nworst: 0\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", "--model", "fill-nearest", "--data", str(data), "--out", str(out),
                                      "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert {r["key"] for r in metrics["records"]} == {samples[0].key, samples[1].key}
    assert metrics["config"]["protocols"] == ["raw", "points:100"]
    assert "raw-depth" in result.output and (out / "report.html").is_file()
    bad = CliRunner().invoke(app, ["eval", "--model", "fill-nearest", "--data", str(data), "--out", str(out),
                                   "--protocol", "lidar:x"])
    assert bad.exit_code == 2 and "lidar:x" in bad.output  # a usage error


def test_tiny_checkpoint_evaluates_through_train_contract(tmp_path, samples):
    torch = pytest.importorskip("torch")
    inference = pytest.importorskip("depthcur.train.inference")
    from depthcur.train import checkpoint
    from depthcur.train.config import load_config
    from depthcur.train.stages import STAGES

    torch.manual_seed(0)
    cfg = load_config("tiny")
    model = STAGES["mdm"](cfg).build_model()
    path = tmp_path / "tiny_mdm.pt"
    checkpoint.save_atomic({"stage": "mdm", "config": cfg.to_dict(), "model": model.state_dict(), "step": 0}, path)
    assert inference.load_predictor(path).stage == "mdm"
    result = run_evaluation(EvalConfig(models=[str(path)], data=["m"], out=tmp_path / "out", protocols=["raw"]),
                            samples[:1])
    models = {r["model"] for r in result["records"]}
    assert models == {"raw-depth", "mdm:tiny_mdm@0"}
    row = rows(result, "raw", "synthA")["mdm:tiny_mdm@0"]
    assert row["coverage"] == 1.0 and math.isfinite(row["absrel"])


@pytest.mark.browser
def test_report_renders_in_chromium(evaluated, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    from pathlib import Path

    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    _, _, report = evaluated
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(report.as_uri())
        tables = page.locator("table").count()
        broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length")
        images = page.evaluate("document.images.length")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        browser.close()
    assert tables >= len(PROTOCOLS) and images > 10 and broken == 0
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_ray_workers_match_the_in_process_run(tmp_path, samples, ray_local):
    data = tmp_path / "raw"
    for s in samples:
        write_sample(data, s)
    common = dict(models=["fill-nearest"], data=[str(data)], protocols=["raw", "points:100"])
    local = run_evaluation(EvalConfig(out=tmp_path / "local", **common))
    on_ray = run_evaluation(EvalConfig(out=tmp_path / "ray", workers=2, **common))
    assert on_ray["records"] == local["records"] and on_ray["summary"] == local["summary"]
    assert sorted(p.name for p in (tmp_path / "ray" / "records").iterdir()) == \
        sorted(p.name for p in (tmp_path / "local" / "records").iterdir())
    with pytest.raises(ValueError, match="--max-samples needs the in-process runner"):
        EvalConfig(out=tmp_path, workers=2, max_samples=2, **common)


def test_protocols_a_sample_cannot_serve_are_skipped_with_the_reason(tmp_path, samples):
    mixed = [samples[0], samples[1].replace(instance_mask=None)]
    result, report = evaluate(EvalConfig(models=["fill-nearest"], data=["m"], out=tmp_path, protocols=["raw", "fde"],
                                         gallery_samples=2, worst_cases=0), mixed)
    assert [(r["key"], r["protocol"]) for r in result["skipped"]] == [(samples[1].key, "fde")]
    assert "instance_mask" in result["skipped"][0]["skipped"]
    assert rows(result, "fde", "synthA")["fill-nearest"]["samples"] == 1
    assert rows(result, "raw", "synthA")["fill-nearest"]["samples"] == 2
    assert "1 sample(s) skipped" in report.read_text()


def test_missed_metrics_score_only_the_pixels_the_input_lacked(samples):
    from depthcur.evaluate.protocols import make_case, protocol_rng
    from depthcur.evaluate.runner import missed_input_scores

    sample = samples[0]
    case = make_case(sample, "raw", protocol_rng(0, sample.key, "raw"))
    holes = (case.gt > 0) & ~(case.depth_in > 0)
    assert 0 < holes.mean() < 1
    # exact on the holes, 30 % too far where the sensor had depth: the missed metrics see only the holes
    pred = case.gt * 1.3
    pred[holes] = case.gt[holes]
    scores = missed_input_scores(pred, case, "none", "test")
    assert scores["missed_absrel"] == pytest.approx(0, abs=1e-6) and scores["missed_coverage"] == 1.0
    pred = case.gt.copy()
    pred[holes] *= 1.5
    assert missed_input_scores(pred, case, "none", "test")["missed_absrel"] == pytest.approx(0.5, rel=1e-5)
    # a model that copies its input covers none of them
    copied = missed_input_scores(case.depth_in, case, "none", "test")
    assert copied["missed_coverage"] == 0 and math.isnan(copied["missed_absrel"])


def test_summary_reports_missed_metrics_per_model(evaluated):
    _, result, report = evaluated
    raw = rows(result, "raw")
    assert raw["raw-depth"]["missed_coverage"] == 0 and raw["raw-depth"].get("missed_absrel") is None
    assert raw["fill-nearest"]["missed_coverage"] == 1.0 and raw["fill-nearest"]["missed_absrel"] > 0
    # the fill is exact where the sensor had depth, so all of its error sits in the holes
    assert raw["fill-nearest"]["missed_absrel"] > raw["fill-nearest"]["absrel"]
    assert "missed AbsRel" in report.read_text()
