"""evaluate --benchmark: every preset end to end on raw sample folders, one cell by hand, filters, the page."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from depthcur.evaluate.benchmarks import BENCHMARKS
from depthcur.schemas import read_sample, scan_samples
from tests.datasets import (booster, cleargrasp, diode, dreds, eth3d, hammer, ibims1, kitti_dc, middlebury2014,
                            nyuv2, transcg)
from depthcur.evaluate.metrics import EvalInputError
from depthcur.evaluate.protocols import make_case, protocol_rng
from depthcur.schemas import Intrinsics, MaterialClass, Sample, Source, Split, write_sample
from depthcur.synthetic import make_sample


def run_cli(args):
    from depthcur.cli import app

    return CliRunner().invoke(app, ["eval", *args])


#: the importer fixtures (tests/datasets, each in its dataset's distributed layout) by --format name (the
#: module name with "-" for "_": kitti_dc is --format kitti-dc)
FIXTURES = {module.__name__.rsplit(".", 1)[1].replace("_", "-"): module for module in
            (nyuv2, ibims1, diode, eth3d, cleargrasp, transcg, hammer, dreds, middlebury2014, booster, kitti_dc)}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Every importer fixture built and imported into its own folder of sample folders: the importer
    functions `depthcur curate import` runs as Ray tasks, here in this process (no Ray start-up)."""
    from depthcur.curate.io import LAYOUTS

    root = tmp_path_factory.mktemp("public")
    folders = {}
    for name, fixture in FIXTURES.items():
        source = fixture.build(root / "src" / name)
        folders[name] = root / "data" / name
        for item in LAYOUTS[name].find_items(source):
            for sample in LAYOUTS[name].import_item(source, item):
                write_sample(folders[name], sample)
    return folders


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_each_preset_runs_on_imported_public_dataset_fixtures(imported, tmp_path, name):
    preset = BENCHMARKS[name]
    data = [arg for folder in imported.values() for arg in ("--data", str(folder))]
    result = run_cli(["--benchmark", name, *data, "--model", "fill-nearest", "--out", str(tmp_path),
                      "--gallery", "1", "--worst", "0"])
    assert result.exit_code == 0, result.output
    table = json.loads((tmp_path / f"benchmark-{name}.json").read_text())
    scored = {}
    for folder in imported.values():
        for sample in map(read_sample, scan_samples(folder).samples):
            label = preset.label_of(sample.dataset, sample.device)
            if label in preset.datasets and sample.split.value in preset.splits_of(label):
                scored[label] = scored.get(label, 0) + 1
    assert scored and table["samples"] == scored
    if name == "metricanything-completion":   # nyuv2, eth3d and KITTI's val_selection_cropped all have fixtures
        assert sorted(scored) == sorted(preset.datasets)
    assert table["no_data"] == [d for d in preset.datasets if d not in scored]
    assert [r["model"] for r in table["rows"]] == ["raw-depth", "fill-nearest"]
    assert len(table["columns"]) == len(preset.datasets) * len(preset.groups) * len(preset.metrics)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["protocols"] == preset.protocols
    summary = {(r["protocol"], r["dataset"], r["model"]): r for r in metrics["summary"]}
    filled = table["rows"][1]["values"]
    for column in table["columns"]:   # every cell is the runner's summary value of its protocol and dataset
        expected = summary.get((column["protocol"], column["dataset"], "fill-nearest"), {}).get(column["metric"])
        assert filled[column["key"]] == expected
        row = summary.get((column["protocol"], column["dataset"], "fill-nearest"), {})
        # RGB alone gives the classical baselines nothing to fill from; so does a prompt with no valid
        # pixel (the 16×12 fixtures hold one ×16 PriorDA cell, at a corner that is a GT hole in eth3d)
        no_input = name == "metricanything-mono" or row.get("mask_ratio") == 1.0
        if column["dataset"] in scored and column["group"] not in ("transparent", "specular") and not no_input:
            assert expected is not None, column["key"]
    markdown = (tmp_path / f"benchmark-{name}.md").read_text()
    assert markdown.count("\n| ") == 1 + len(table["rows"]) + len(preset.published)   # header + rows
    assert f"benchmark-{name}.html" in (tmp_path / "report.html").read_text()


def hammer_sample() -> Sample:
    """4×6, GT 2 m everywhere; raw 2.2 m in columns 0-1, 1.9 m in columns 2-3, holes in 4-5;
    columns 3-5 transparent."""
    gt = np.full((4, 6), 2.0, np.float32)
    raw = np.zeros((4, 6), np.float32)
    raw[:, 0:2], raw[:, 2:4] = 2.2, 1.9
    material = np.full((4, 6), MaterialClass.OPAQUE.value, np.uint8)
    material[:, 3:] = MaterialClass.TRANSPARENT.value
    return Sample(key="hammer/scene1/000000", source=Source.PUBLIC, dataset="hammer",
                  rgb=np.full((4, 6, 3), 128, np.uint8), K_rgb=Intrinsics(5.0, 5.0, 2.5, 1.5), depth_raw=raw,
                  depth_gt=gt, depth_gt_kind="rendered", device="d435", split=Split.TEST, material_mask=material)


def test_raw_sensor_cells_equal_hand_computed_values(tmp_path):
    write_sample(tmp_path / "data", hammer_sample())
    d435 = hammer_sample()
    l515 = d435.replace(key="hammer/scene1/000000_l515", device="l515",
                        depth_raw=np.where(d435.depth_raw > 0, 2.4, 0).astype(np.float32))
    write_sample(tmp_path / "data", l515)
    out = tmp_path / "out"
    result = run_cli(["--benchmark", "raw-sensor", "--data", str(tmp_path / "data"), "--model", "fill-nearest",
                      "--out", str(out), "--gallery", "0", "--worst", "0"])
    assert result.exit_code == 0, result.output
    table = json.loads((out / "benchmark-raw-sensor.json").read_text())
    raw = table["rows"][0]["values"]
    # all: 8 px off by 0.2 m and 8 px off by 0.1 m where the sensor measured; 16 of 24 pixels measured
    assert raw["hammer:d435/all/mae"] == pytest.approx((8 * 0.2 + 8 * 0.1) / 16, abs=1e-5)
    assert raw["hammer:d435/all/absrel"] == pytest.approx((8 * 0.1 + 8 * 0.05) / 16, abs=1e-5)
    assert raw["hammer:d435/all/coverage"] == pytest.approx(16 / 24)
    assert raw["hammer:l515/all/mae"] == pytest.approx(0.4, abs=1e-5)   # each sensor has its own columns
    assert table["samples"] == {"hammer:d435": 1, "hammer:l515": 1}
    # transparent (columns 3-5, 12 px): the sensor measured only column 3, at 1.9 m
    assert raw["hammer:d435/transparent/mae"] == pytest.approx(0.1, abs=1e-5)
    assert raw["hammer:d435/transparent/coverage"] == pytest.approx(4 / 12)
    # fill-nearest copies column 3's 1.9 m into columns 4-5: every transparent pixel is 0.1 m off
    assert table["rows"][1]["values"]["hammer:d435/transparent/mae"] == pytest.approx(0.1, abs=1e-5)
    assert table["rows"][1]["values"]["hammer:d435/transparent/coverage"] == 1.0
    assert table["rows"][0]["values"]["hammer:d435/specular/mae"] is None     # no specular pixel: skipped
    published = {r["model"]: r["values"] for r in table["published"]}
    assert published["paper: CDM (D435)"]["hammer:d435/all/mae"] == 0.0258
    assert published["paper: raw D435"]["hammer:d435/all/mae"] == 0.0550
    html = (out / "benchmark-raw-sensor.html").read_text()
    assert "paper: CDM (D435)" in html and "0.0258" in html and "no data" in html and "0.1500" in html


def test_material_region_and_mono_protocols():
    sample = hammer_sample()
    case = make_case(sample, "raw:transparent", protocol_rng(0, sample.key, "raw:transparent"))
    assert case.eval_mask.sum() == 12 and not case.eval_mask[:, :3].any()
    assert case.info["region_fraction"] == 0.5
    with pytest.raises(EvalInputError, match="no valid ground-truth pixel is specular"):
        make_case(sample, "raw:specular", protocol_rng(0, sample.key, "raw:specular"))
    with pytest.raises(ValueError, match="choose a material"):
        make_case(sample, "raw:glassy", protocol_rng(0, sample.key, "raw:glassy"))
    with pytest.raises(EvalInputError, match="material mask"):
        make_case(sample.replace(material_mask=None), "raw:transparent", protocol_rng(0, sample.key, "x"))
    mono = make_case(sample, "mono", protocol_rng(0, sample.key, "mono"))
    assert not mono.depth_in.any() and mono.prompt is None and mono.eval_mask.sum() == 24


def test_data_outside_the_benchmark_is_a_clear_input_error(tmp_path):
    write_sample(tmp_path / "data", make_sample("x/s0", height=24, width=32, split=Split.TEST, dataset="elsewhere"))
    result = run_cli(["--benchmark", "lingbot-p1", "--data", str(tmp_path / "data"), "--model", "fill-nearest",
                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "dataset 'elsewhere' is not in benchmark lingbot-p1" in result.output
    write_sample(tmp_path / "eth3d", make_sample("eth3d/s0", height=24, width=32, split=Split.TEST, dataset="eth3d"))
    sensor = run_cli(["--benchmark", "lingbot-p2", "--data", str(tmp_path / "eth3d"), "--model", "fill-nearest",
                      "--out", str(tmp_path / "out3")])
    assert sensor.exit_code == 2   # Protocol 2's input is the SfM points, not some other depth_raw
    assert "takes depth_raw = sfm_points as input" in sensor.output
    bad = run_cli(["--benchmark", "nope", "--data", str(tmp_path / "data"), "--model", "fill-nearest",
                   "--out", str(tmp_path / "out2")])
    assert bad.exit_code == 2 and "--benchmark" in bad.output


def test_cdm_adapter_says_what_is_missing(tmp_path):
    write_sample(tmp_path / "data", hammer_sample())
    args = ["--benchmark", "raw-sensor", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")]
    missing = run_cli([*args, "--model", f"cdm:{tmp_path / 'nope.pth'}"])
    assert missing.exit_code == 2 and "no such checkpoint file" in missing.output
    (tmp_path / "d435.pth").write_bytes(b"")
    no_code = run_cli([*args, "--model", f"cdm:{tmp_path / 'd435.pth'}"])
    assert no_code.exit_code == 2 and "rgbddepth package is not installed" in no_code.output
    assert "pip install camera-depth-models" in no_code.output


class InverseHalf:
    """Stands in for rgbddepth's RGBDDepth (the user's install): one weight, inverse depth 0.5 out."""

    def __init__(self, **config):
        import torch

        self.config, self.seen = config, None
        self.module = torch.nn.Linear(1, 1)

    def load_state_dict(self, states, strict):
        return self.module.load_state_dict({k.removeprefix("head."): v for k, v in states.items()}, strict=strict)

    def eval(self):
        return self

    def infer_image(self, rgb, inverse_depth, input_size):
        self.seen = (inverse_depth, input_size)
        return np.full(inverse_depth.shape, 0.5, np.float32)


def test_cdm_adapter_converts_inverse_depth_both_ways(tmp_path, monkeypatch):
    import sys
    import types

    import torch

    from depthcur.evaluate.baselines import load_model

    package = types.ModuleType("rgbddepth")
    package.dpt = types.SimpleNamespace(RGBDDepth=InverseHalf)
    monkeypatch.setitem(sys.modules, "rgbddepth", package)
    monkeypatch.setitem(sys.modules, "rgbddepth.dpt", package.dpt)
    torch.save({"model": {"module.head.weight": torch.ones(1, 1), "module.head.bias": torch.zeros(1)}},
               tmp_path / "d435.pth")
    model = load_model(f"cdm:{tmp_path / 'd435.pth'}")
    assert model.name == "cdm:d435" and model.network.config["encoder"] == "vitl"
    sample = hammer_sample()
    depth = model.predict(sample.rgb, sample.depth_raw, sample.K_rgb)
    assert np.allclose(depth, 2.0)                                    # 1 / 0.5
    inverse, size = model.network.seen
    assert size == 518 and np.allclose(inverse[:, 0], 1 / 2.2) and np.allclose(inverse[:, 2], 1 / 1.9)
    assert not inverse[:, 4:].any()                                    # holes stay 0
    torch.save({"model": {"module.head.weight": torch.ones(1, 1)}}, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match="1 network weights are missing"):
        load_model(f"cdm:{tmp_path / 'partial.pth'}")


def test_eval_summary_line_prints_a_zero_metric_as_zero():
    from depthcur.evaluate.cli import summary_line

    row = {"protocol": "raw", "dataset": "nyuv2", "model": "perfect", "absrel": 0.0, "delta1": 0.0, "coverage": 1.0}
    assert "AbsRel 0.0000  δ1 0.000  coverage 100.0%" in summary_line(row)
    assert "AbsRel nan  δ1 nan" in summary_line({**row, "absrel": None, "delta1": None})
