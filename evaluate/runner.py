"""Run every model × protocol over a dataset; write per-sample records and a JSON summary.

Each sample's results (all protocols and models) go to ``records/<key>.json`` atomically,
tagged with a fingerprint of the run settings; a re-run after a kill skips samples whose
record matches and evaluates the rest, so the final ``metrics.json`` is the same as an
uninterrupted run's.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from depthcur.core.progress import get_logger, progress_task
from depthcur.schemas import Sample, flatten_key, write_json_atomic

from .baselines import Predictor, load_model
from .benchmarks import BENCHMARKS
from .config import EvalConfig
from .data import count_samples, iter_samples
from .metrics import (
    DEPTH_METRICS,
    BoundaryReference,
    DepthReference,
    DepthScores,
    EvalInputError,
    StereoReference,
    boundary_thresholds,
    check_reference,
    compute,
)
from .protocols import BLOCK_MASK_LEVELS, KINECT, ProtocolCase, make_case, protocol_rng

log = get_logger(__name__)
FDE_REGIONS = ("foreground", "boundary", "global")
FDE_METRICS = ("absrel", "rmse", "delta1", "coverage")
FDE_DEPTH_METRICS = tuple(name for name in FDE_METRICS if name != "coverage")
#: boundary F1 needs a dense evaluation mask; sparse-pixel protocols (depthlm) skip it
DENSE_EVAL_FRACTION = 0.5
#: metrics on the pixels the input depth did not have (the sensor's holes, the masked blocks)
MISSED_METRICS = ("absrel", "rmse", "delta1", "coverage")
SUMMARY_METRICS = DEPTH_METRICS + ("coverage", "boundary_f1", "epe", "bp1", "bad2", "density", "mask_ratio") + \
    tuple(f"missed_{name}" for name in MISSED_METRICS)


# ---------------------------------------------------------------- one case


def predict(model: Predictor, case: ProtocolCase, where: str) -> np.ndarray:
    pred = np.asarray(model.predict(case.rgb, case.depth_in, case.K, case.prompt), dtype=np.float32)
    if pred.shape != case.gt.shape:
        raise EvalInputError(f"model {model.name} returned shape {pred.shape}, expected {case.gt.shape}",
                             field="pred", where=where)
    return pred


class CaseReference:
    """The GT side of one case's metrics (checked GT, missed-input pixels, GT edges, FDE regions),
    prepared once and shared by every model scored on the case."""

    def __init__(self, case: ProtocolCase, where: str):
        self.depth = DepthReference(*check_reference(case.gt, case.eval_mask, where=where))
        self.gt_valid = self.depth.gt_valid
        missed = self.gt_valid & ~(np.asarray(case.depth_in) > 0)
        self.n_missed = int(missed.sum())
        # scored on the aligned prediction, like the main metrics
        self.missed_region = self.depth.add_region(missed, aligned=True) if self.n_missed else None
        dense = case.eval_mask.mean() >= DENSE_EVAL_FRACTION * (case.gt > 0).mean()
        self.boundary = BoundaryReference(case.gt, case.eval_mask, boundary_thresholds()) if dense else None
        #: per FDE target: region -> its label in ``depth`` (scored unaligned), or None to score it on its own
        self.regions = [{region: self._region(case.gt, target[region])
                         for region in FDE_REGIONS if target[region].any()} for target in case.targets or []]
        self._stereo: tuple[np.ndarray, StereoReference] | None = None   # (the sample's GT disparity, its side)

    def stereo(self, gt_disparity: np.ndarray, where: str) -> StereoReference:
        """The stereo GT side of the case's sample (checked on first use)."""
        if self._stereo is None or self._stereo[0] is not gt_disparity:
            self._stereo = (gt_disparity, StereoReference(gt_disparity, where=where))
        return self._stereo[1]

    def _region(self, gt: np.ndarray, region: np.ndarray) -> int | None:
        """The label of the region's valid-GT pixels when they lie within the case's (so one pass over the
        case scores them); None sends the region through :func:`compute` on its own."""
        region_valid = np.isfinite(gt) & (gt > 0) & region.astype(bool)
        inside = region_valid.any() and not (region_valid & ~self.gt_valid).any()
        return self.depth.add_region(region_valid, aligned=False) if inside else None


def case_reference(case: ProtocolCase, where: str) -> CaseReference:
    if case.reference is None:
        case.reference = CaseReference(case, where)
    return case.reference


def fde_scores(pred: np.ndarray, case: ProtocolCase, where: str, depth: DepthScores | None = None
               ) -> list[dict[str, Any]]:
    """Per target: metrics over its foreground, boundary band and the global region (no alignment).
    ``depth``: the prediction's sums over the case's regions, when the caller has them."""
    reference = case_reference(case, where)
    depth = depth or reference.depth.score(pred, "none", where=where)
    scores = []
    for target, regions in zip(case.targets or [], reference.regions):
        entry: dict[str, Any] = {"id": target["id"]}
        for region, label in regions.items():
            if label is None:
                metrics = compute(pred, case.gt, target[region], where=f"{where} target {target['id']} {region}")
            else:
                metrics = {**depth.errors(label, FDE_DEPTH_METRICS), "coverage": depth.coverage(label)}
            entry[region] = {name: metrics[name] for name in FDE_METRICS}
        scores.append(entry)
    return scores


def stereo_grid_matches(pred: np.ndarray, sample: Sample, case: ProtocolCase) -> bool:
    """True when the sample has GT disparity on the same grid as the prediction."""
    return bool(sample.disparity_gt is not None and sample.baseline_m and sample.K_ir is not None
                and sample.disparity_gt.shape == pred.shape and case.gt.shape == sample.depth_gt.shape
                and (sample.T_rgb_from_ir is None or np.allclose(sample.T_rgb_from_ir, np.eye(4))))


def stereo_scores(pred: np.ndarray, sample: Sample, case: ProtocolCase, where: str) -> dict[str, float]:
    """Stereo metrics when the sample has GT disparity on the same grid as the prediction."""
    if not stereo_grid_matches(pred, sample, case):
        return {}
    stereo = case_reference(case, where).stereo(sample.disparity_gt, where)
    return stereo.metrics_of_depth(pred, sample.K_ir.fx, sample.baseline_m, where=where)


def missed_input_scores(pred: np.ndarray, case: ProtocolCase, align: str, where: str,
                        depth: DepthScores | None = None) -> dict[str, float]:
    """``missed_*`` metrics on the evaluated pixels where the input depth is missing.

    This is where completion is judged: a model that copies its input is only scored on
    coverage there. The alignment is fitted on all evaluated pixels, as for the main metrics
    (``depth``: the prediction's sums over the case's regions at ``align``, when the caller has them).
    """
    reference = case_reference(case, where)
    depth = depth or reference.depth.score(pred, align, where=where)
    if reference.missed_region is None:
        return {}
    names = tuple(name for name in MISSED_METRICS if name != "coverage")
    result = {"missed_coverage": depth.coverage(reference.missed_region)}
    result.update({f"missed_{name}": value for name, value in depth.errors(reference.missed_region, names).items()})
    return result


def score(pred: np.ndarray, case: ProtocolCase, sample: Sample, align: str, where: str) -> dict[str, Any]:
    """Every metric of one prediction on one case; the GT side is prepared once per case, and one pass
    over the pixels gives the depth metrics of every region."""
    reference = case_reference(case, where)
    depth = reference.depth.score(pred, align, where=where)
    result: dict[str, Any] = depth.metrics()
    result.update(missed_input_scores(pred, case, align, where, depth))
    if reference.boundary is not None:
        result["boundary_f1"] = reference.boundary.scale_invariant_f1(np.asarray(pred))
    result.update(stereo_scores(pred, sample, case, where))
    if case.targets is not None:
        result["fde"] = fde_scores(pred, case, where, depth)
    return result


def run_case(sample: Sample, spec: str, models: dict[str, Predictor], seed: int, align: str
             ) -> tuple[ProtocolCase, dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    case = make_case(sample, spec, protocol_rng(seed, sample.key, spec))
    return case, *predict_and_score(case, sample, spec, models, align)


def predict_and_score(case: ProtocolCase, sample: Sample, spec: str, models: dict[str, Predictor], align: str
                      ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    preds, scores = {}, {}
    for name, model in models.items():
        where = f"{sample.key} [{spec}, {name}]"
        preds[name] = predict(model, case, where)
        scores[name] = score(preds[name], case, sample, align, where)
    return preds, scores


def evaluate_sample(sample: Sample, config: EvalConfig, models: dict[str, Predictor]) -> list[dict[str, Any]]:
    """One record per protocol × model. A protocol the sample cannot serve (no sensor depth,
    no instance mask, too few valid pixels) gives a ``skipped`` record naming the field,
    so mixed datasets still evaluate; a bad *prediction* still stops the run."""
    dataset = dataset_label(sample, config.benchmark)
    outside = outside_benchmark(sample, config.benchmark)
    if outside:
        return [{"key": sample.key, "dataset": dataset, "protocol": spec, "skipped": outside}
                for spec in config.protocols]
    records = []
    for spec in config.protocols:
        try:
            case = make_case(sample, spec, protocol_rng(config.seed, sample.key, spec))
        except EvalInputError as exc:
            log.warning("skipping %s", exc)
            records.append({"key": sample.key, "dataset": dataset, "protocol": spec, "skipped": str(exc)})
            continue
        _, scores = predict_and_score(case, sample, spec, models, config.align)
        input_facts = {k: v for k, v in case.info.items() if isinstance(v, (int, float, str))}
        for name, metrics in scores.items():
            records.append({"key": sample.key, "dataset": dataset, "protocol": spec, "model": name,
                            "model_stage": getattr(models[name], "stage", ""), "input": input_facts, **metrics})
    return records


def dataset_label(sample: Sample, benchmark: str | None) -> str:
    """The sample's dataset as records and tables name it (per sensor in a by-device benchmark)."""
    return sample.dataset if benchmark is None else BENCHMARKS[benchmark].label_of(sample.dataset, sample.device)


def outside_benchmark(sample: Sample, benchmark: str | None) -> str | None:
    """Why a sample is not part of the benchmark's table (its dataset, split or kind of input depth), or None."""
    if benchmark is None:
        return None
    preset = BENCHMARKS[benchmark]
    split = getattr(sample.split, "value", sample.split)
    dataset = dataset_label(sample, benchmark)
    if dataset not in preset.datasets:
        return f"dataset {dataset!r} is not in benchmark {benchmark} ({', '.join(preset.datasets)})"
    if split not in preset.splits_of(dataset):
        return (f"split {split!r} is not an evaluation split of {dataset} in benchmark {benchmark} "
                f"({', '.join(preset.splits_of(dataset))})")
    raw_kind = sample.provenance.get("depth_raw")
    if preset.raw_input is not None and raw_kind != preset.raw_input:
        return (f"benchmark {benchmark} takes depth_raw = {preset.raw_input} as input; this sample's depth_raw "
                f"is {raw_kind or 'not described in its provenance'}")
    return None


# ---------------------------------------------------------------- whole run


def record_path(out: Path, key: str) -> Path:
    return out / "records" / f"{flatten_key(key)}.json"


def load_record(path: Path, fingerprint: str) -> list[dict[str, Any]] | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data["records"] if data.get("fingerprint") == fingerprint else None


def load_models(specs: Sequence[str]) -> dict[str, Predictor]:
    models: dict[str, Predictor] = {}
    for spec in specs:
        model = load_model(spec)
        name = model.name
        if name in models:   # the same checkpoint given twice still gets two rows
            name = f"{name}#{len(models)}"
        models[name] = model
    return models


def evaluate_or_resume(sample: Sample, config: EvalConfig, models: dict[str, Predictor],
                       fingerprint: str) -> tuple[list[dict[str, Any]], bool]:
    """(records, resumed): read back a finished sample's records or evaluate and store them."""
    path = record_path(config.out, sample.key)
    previous = load_record(path, fingerprint)
    if previous is not None:
        return previous, True
    records = _jsonable(evaluate_sample(sample, config, models))
    write_json_atomic(path, {"fingerprint": fingerprint, "records": records})
    return records, False


def evaluate_part(part: tuple[EvalConfig, int, int]) -> tuple[list[dict[str, Any]], int]:
    """Ray task body: evaluate data part ``slot`` of ``slots``; returns (records, resumed count)."""
    config, slot, slots = part
    models = load_models(config.models)
    fingerprint = config.fingerprint()
    records, resumed = [], 0
    for sample in iter_samples(config.data, slot=slot, slots=slots):
        sample_records, was_resumed = evaluate_or_resume(sample, config, models, fingerprint)
        records += sample_records
        resumed += was_resumed
    return records, resumed


def _evaluate_in_process(config: EvalConfig, samples: Sequence[Sample] | None) -> tuple[list[dict], int]:
    models = load_models(config.models)
    fingerprint = config.fingerprint()
    source = samples if samples is not None else iter_samples(config.data, max_samples=config.max_samples)
    if samples is not None:
        total = len(samples)
    else:
        available = count_samples(config.data)
        total = available if config.max_samples is None or available is None else min(available, config.max_samples)
    records: list[dict[str, Any]] = []
    resumed = 0
    with progress_task(f"eval {len(models)} model(s) × {len(config.protocols)} protocol(s)", total) as advance:
        for sample in source:
            sample_records, was_resumed = evaluate_or_resume(sample, config, models, fingerprint)
            records += sample_records
            resumed += was_resumed
            advance(1)
    return records, resumed


def _evaluate_on_ray(config: EvalConfig) -> tuple[list[dict], int]:
    from depthcur.core.ray_runner import init_ray, run_tasks

    init_ray(config.ray_address)
    records: list[dict[str, Any]] = []
    resumed = 0
    parts = [(config, slot, config.workers) for slot in range(config.workers)]
    for (_, slot, _), result in run_tasks(evaluate_part, parts, description=f"eval on {config.workers} Ray workers"):
        if isinstance(result, Exception):
            raise RuntimeError(f"evaluation worker {slot} failed: {result}") from result
        records += result[0]
        resumed += result[1]
    return records, resumed


def run_evaluation(config: EvalConfig, samples: Sequence[Sample] | None = None) -> dict[str, Any]:
    """Evaluate; ``samples`` (in memory) replaces reading ``config.data``. Returns the metrics JSON.

    Records are ordered by sample key, so the result does not depend on worker scheduling.
    """
    if config.workers > 1 and samples is None:
        records, resumed = _evaluate_on_ray(config)
    else:
        records, resumed = _evaluate_in_process(config, samples)
    if not records:
        raise EvalInputError("no samples were read", field="data", where=", ".join(map(str, config.data)))
    if resumed:
        log.info("resumed: %d sample(s) already evaluated were read back from %s", resumed, config.out / "records")
    records.sort(key=lambda rec: rec["key"])   # stable: protocol and model order within a sample are kept
    skipped = [rec for rec in records if "skipped" in rec]
    records = [rec for rec in records if "skipped" not in rec]
    if not records:
        raise EvalInputError(f"every protocol was skipped on every sample; first reason: {skipped[0]['skipped']}",
                             field="data", where=", ".join(map(str, config.data)))
    model_names = list(dict.fromkeys(rec["model"] for rec in records))
    result = {"config": {**asdict(config), "out": str(config.out), "models": model_names},
              "fingerprint": config.fingerprint(),
              "block_mask_levels": {k: asdict(v) for k, v in BLOCK_MASK_LEVELS.items()},
              "kinect_noise": asdict(KINECT), "summary": summarise(records), "records": records, "skipped": skipped}
    write_json_atomic(config.out / "metrics.json", result)
    return result


# ---------------------------------------------------------------- aggregation


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(finite)) if finite else None


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean metrics per (protocol, dataset, model), plus an ``all`` dataset row; FDE per target."""
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for rec in records:
        groups[(rec["protocol"], rec["dataset"], rec["model"])].append(rec)
        groups[(rec["protocol"], "all", rec["model"])].append(rec)
    datasets = {rec["dataset"] for rec in records}
    rows = []
    for (protocol, dataset, model), recs in groups.items():
        if dataset == "all" and len(datasets) == 1:
            continue
        row: dict[str, Any] = {"protocol": protocol, "dataset": dataset, "model": model, "samples": len(recs)}
        for name in SUMMARY_METRICS:
            values = [rec.get(name, rec["input"].get(name)) for rec in recs]
            if any(v is not None for v in values):
                row[name] = _mean(values)
        if any("fde" in rec for rec in recs):
            row["fde"] = summarise_fde([target for rec in recs for target in rec.get("fde", [])])
        rows.append(row)
    return sorted(rows, key=lambda r: (r["protocol"], r["dataset"], r["model"] != "raw-depth", r["model"]))


def summarise_fde(targets: list[dict[str, Any]]) -> dict[str, Any]:
    """Each target counts once (FDE-Bench averages over image–target pairs, not pixels)."""
    out: dict[str, Any] = {"targets": len(targets)}
    for region in FDE_REGIONS:
        out[region] = {name: _mean([t[region][name] for t in targets if region in t]) for name in FDE_METRICS}
    return out


def _jsonable(value: Any) -> Any:
    """NaN -> None so the JSON is strict (browsers and jq reject NaN)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
