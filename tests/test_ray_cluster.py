"""A real two-node Ray cluster on loopback: ``render`` and ``build-shards`` with ``--ray-address``.

The head and a second node are separate ``ray start --block`` processes, each in its own
session, temp dir and set of free ports, so the test never touches another Ray instance on
the machine (no ``ray stop``; teardown kills only our two process groups).

Loopback addresses: Ray rewrites ``127.0.0.1``/``localhost``/``::1`` wherever they are given
(``--node-ip-address``, ``--address``, ``ray.init(address=...)``) into the address the
kernel would use to reach 8.8.8.8 (``services.resolve_ip_for_localhost`` ->
``node_ip_address_from_perspective``), i.e. the machine's outward interface. Ray has no
environment variable to stop that. Other 127/8 addresses are loopback on Linux too and Ray
keeps them as given, so the head listens on 127.0.0.2 and the second node on 127.0.0.3;
the cluster never leaves ``lo`` and the two nodes have distinct addresses.

Ray 2.60 turns token auth on: every node and every driver gets the same per-session token
through ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from depthcur.curate.shards.formats import iter_parquet, iter_webdataset
from depthcur.schemas import read_sample, scan_samples, validate_sample
from depthcur.schemas.codecs import decode_sample, map_names

VENV_BIN = Path(sys.executable).parent
HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"
HEAD_CPUS, WORKER_CPUS = 1, 2        # the head alone cannot take all in-flight tasks: work spills to the worker
RENDER_ARGS = ["--resolution", "96x72", "--spp", "2", "--seed", "7", "--threads-per-worker", "1"]
NODE_PORT_FLAGS = ("--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
                   "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port")
SHADED_MAPS = ("rgb", "ir_left", "ir_right", "depth_raw")
SHADED_TOLERANCE = 0.005     # fraction of values of a shaded map allowed to differ (see compare_sample)
START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 420


@dataclass
class RayCluster:
    address: str
    env: dict[str, str]              # what every driver needs: the token
    head: subprocess.Popen
    worker: subprocess.Popen
    worker_temp_dir: Path

    def worker_alive(self) -> bool:
        return self.worker.poll() is None


def free_ports(count: int) -> list[int]:
    """Distinct ports free right now (held open together so no two are the same)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("", 0))
        return [sock.getsockname()[1] for sock in sockets]


def start_node(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([str(VENV_BIN / "ray"), "start", "--block", "--disable-usage-stats", *args],
                                env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def kill_node(process: subprocess.Popen) -> None:
    """SIGKILL the node's whole process group (raylet, GCS, workers: all started in its session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def alive_nodes(address: str, env: dict[str, str], want: int, nodes: list[subprocess.Popen]) -> list[dict]:
    """Poll the cluster from a separate driver until ``want`` nodes are alive; return them.

    Gives up early when one of our ``ray start`` processes has exited (a bad flag, a port clash)."""
    script = ("import json, time, ray\n"
              f"ray.init(address={address!r}, log_to_driver=False, configure_logging=False)\n"
              "while len([n for n in ray.nodes() if n['Alive']]) < " f"{want}:\n"
              "    time.sleep(0.5)\n"
              "print(json.dumps([{'ip': n['NodeManagerAddress'], 'cpus': n['Resources'].get('CPU', 0),\n"
              "                   'head': n['Resources'].get('node:__internal_head__', 0) > 0}\n"
              "                  for n in ray.nodes() if n['Alive']]))\n")
    poll = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while poll.poll() is None and time.monotonic() < deadline:
            exited = [node.args[2:4] for node in nodes if node.poll() is not None]
            assert not exited, f"ray start exited early: {exited}"
            time.sleep(0.2)
    finally:
        if poll.poll() is None:
            poll.kill()
        stdout, stderr = poll.communicate()
    assert poll.returncode == 0, f"only some nodes came up within {START_TIMEOUT_S} s:\n{stderr[-3000:]}"
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cluster():
    token = secrets.token_hex(32)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    env.pop("RAY_ADDRESS", None)
    # find a dead node in ~3 s instead of ~15 s, so lost tasks are retried soon after the kill
    node_env = {**env, "RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000",
                "RAY_health_check_failure_threshold": "3"}
    # short temp dirs: Ray's unix socket paths must stay under ~107 characters
    head_dir, worker_dir = (Path(tempfile.mkdtemp(prefix="rc", dir="/tmp")) for _ in range(2))
    gcs_port, client_port, *ports = free_ports(2 + 2 * len(NODE_PORT_FLAGS))
    node_ports = [[f"{flag}={port}" for flag, port in zip(NODE_PORT_FLAGS, chunk)]
                  for chunk in (ports[:len(NODE_PORT_FLAGS)], ports[len(NODE_PORT_FLAGS):])]
    address = f"{HEAD_IP}:{gcs_port}"
    common = ["--object-store-memory", str(200 * 2**20)]
    head = start_node(["--head", "--include-dashboard=false", f"--node-ip-address={HEAD_IP}", f"--port={gcs_port}",
                       f"--ray-client-server-port={client_port}", f"--temp-dir={head_dir}",
                       f"--num-cpus={HEAD_CPUS}", *common, *node_ports[0]], node_env, head_dir / "start.log")
    worker = None
    try:
        # the second node retries until the head's GCS answers, so both can start at once
        worker = start_node([f"--address={address}", f"--node-ip-address={WORKER_IP}", f"--temp-dir={worker_dir}",
                             f"--num-cpus={WORKER_CPUS}", *common, *node_ports[1]], node_env,
                            worker_dir / "start.log")
        nodes = alive_nodes(address, env, want=2, nodes=[head, worker])
        logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in (head_dir / "start.log",
                                                                            worker_dir / "start.log"))
        assert sorted((n["ip"], n["cpus"], n["head"]) for n in nodes) == [
            (HEAD_IP, HEAD_CPUS, True), (WORKER_IP, WORKER_CPUS, False)], (nodes, logs)
        yield RayCluster(address=address, env=env, head=head, worker=worker, worker_temp_dir=worker_dir)
    finally:
        for process in (worker, head):
            if process is not None:
                kill_node(process)
        for folder in (head_dir, worker_dir):
            shutil.rmtree(folder, ignore_errors=True)


def depthcur(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = subprocess.run([str(VENV_BIN / "depthcur"), *args], env=env, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S)
    print(f"depthcur {args[0]}{' (cluster)' if '--ray-address' in args else ''}: {time.monotonic() - started:.1f} s")
    if check:
        assert result.returncode == 0, f"depthcur {' '.join(args)} -> {result.returncode}\n{result.stderr[-4000:]}"
    return result


def render_args(scenes: int, samples: int, out: Path, workers: int) -> list[str]:
    return ["render", "--scenes", f"procedural:{scenes}", "--samples-per-scene", str(samples), "--out", str(out),
            "--workers", str(workers), *RENDER_ARGS]


def expected_keys(scenes: int, samples: int) -> list[str]:
    return [f"sim/procedural_{n:04d}/{i:04d}" for n in range(scenes) for i in range(samples)]


def task_logs_on(temp_dir: Path, task_name: str) -> set[Path]:
    """Worker log files of a node that ran ``task_name``: Ray marks them ``:task_name:<name>``."""
    marker = f":task_name:{task_name}"
    return {p for p in temp_dir.glob("session_*/logs/worker-*.out")
            if marker in p.read_text(errors="replace")}


def busy_with(node: subprocess.Popen, task_name: str) -> list[int]:
    """PIDs in the node's session whose process title says they are running ``task_name`` now."""
    listing = subprocess.run(["ps", "-eo", "pid=,sid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in listing.splitlines()]
    return [int(row[0]) for row in rows
            if len(row) == 3 and int(row[1]) == node.pid and row[2].startswith(f"ray::{task_name}")]


def shard_samples(directory: Path) -> dict[str, dict]:
    """Every sample of a shard folder as (decoded sample, meta, shard index), read through both shard readers."""
    manifest = json.loads((directory / "manifest.json").read_text())
    by_format: dict[str, dict] = {}
    for fmt, reader in (("parquet", iter_parquet), ("webdataset", iter_webdataset)):
        samples: dict = {}
        for shard in manifest["shards"]:
            for meta, blobs in reader(directory / shard["files"][fmt]["path"]):
                assert meta["key"] not in samples, f"duplicate {meta['key']} in {fmt} shards of {directory}"
                samples[meta["key"]] = (decode_sample(meta, blobs), meta, shard["index"])
        by_format[fmt] = samples
    return by_format


def shard_file_bytes(directory: Path, index: int) -> dict[str, bytes]:
    manifest = json.loads((directory / "manifest.json").read_text())
    shard = next(s for s in manifest["shards"] if s["index"] == index)
    return {fmt: (directory / f["path"]).read_bytes() for fmt, f in shard["files"].items()}


def compare_sample(key: str, got, want) -> set[str]:
    """Assert a cluster sample equals the local one; return the maps that are not bit-identical.

    Geometry passes (Z, object index) and the metadata must be exact. Cycles' shaded images are
    not always bit-identical across processes: under CPU load a handful of RGB values of a
    2-spp render come out different (measured: 3 of 20736 values, up to 17 levels, in one of
    20 sample comparisons; IR and the SGM depth were exact in those runs). So the shaded maps,
    and the SGM depth computed from the IR pair, may differ in at most SHADED_TOLERANCE of
    their values."""
    (sample, meta, _), (expected, expected_meta, _) = got, want
    assert meta == expected_meta, f"{key}: metadata differs between cluster and local"
    inexact = set()
    for name in map_names():
        a, b = getattr(sample, name), getattr(expected, name)
        assert (a is None) == (b is None), (key, name)
        if a is None or (a.dtype == b.dtype and np.array_equal(a, b)):
            continue
        assert name in SHADED_MAPS and a.shape == b.shape and a.dtype == b.dtype, f"{key}: {name} differs"
        differing = float(np.mean(a != b))
        assert differing <= SHADED_TOLERANCE, f"{key}: {differing:.2%} of {name} differs between cluster and local"
        inexact.add(name)
    return inexact


def test_ray_keeps_loopback_addresses_other_than_127_0_0_1():
    """Why the nodes use 127.0.0.2/3: the rewrite of 127.0.0.1 the cluster fixture avoids."""
    from ray._common.network_utils import node_ip_address_from_perspective
    from ray._private.services import resolve_ip_for_localhost

    assert resolve_ip_for_localhost(HEAD_IP) == HEAD_IP and resolve_ip_for_localhost(WORKER_IP) == WORKER_IP
    assert resolve_ip_for_localhost("127.0.0.1") == node_ip_address_from_perspective(None)


@pytest.mark.slow
@pytest.mark.blender
def test_cluster_render_and_shards_equal_a_local_run(cluster, tmp_path):
    scenes, samples = 2, 2

    def local_run() -> None:
        depthcur(*render_args(scenes, samples, tmp_path / "raw_local", workers=2))
        depthcur("build-shards", "--in", str(tmp_path / "raw_local"), "--out", str(tmp_path / "shards_local"),
                 "--samples-per-shard", "2")

    before = {name: task_logs_on(cluster.worker_temp_dir, name) for name in ("_render_item", "Map(write_shard)")}
    # the local run is independent of the cluster: overlap it with the cluster run (both mostly start-up waits)
    with ThreadPoolExecutor(max_workers=1) as pool:
        local = pool.submit(local_run)
        depthcur(*render_args(scenes, samples, tmp_path / "raw_cluster", workers=3), "--ray-address",
                 cluster.address, env=cluster.env)
        depthcur("build-shards", "--in", str(tmp_path / "raw_cluster"), "--out", str(tmp_path / "shards_cluster"),
                 "--samples-per-shard", "2", "--ray-address", cluster.address, env=cluster.env)
        local.result()
    ran_on_worker = {name: task_logs_on(cluster.worker_temp_dir, name) - before[name] for name in before}
    assert ran_on_worker["_render_item"], "no render task ran on the second node"
    assert ran_on_worker["Map(write_shard)"], "no build-shards task ran on the second node"

    cluster_shards, local_shards = shard_samples(tmp_path / "shards_cluster"), shard_samples(tmp_path / "shards_local")
    inexact: dict[str, set[str]] = {}
    for fmt in ("parquet", "webdataset"):
        assert sorted(cluster_shards[fmt]) == sorted(local_shards[fmt]) == expected_keys(scenes, samples), fmt
        for key, got in cluster_shards[fmt].items():
            assert got[2] == local_shards[fmt][key][2], f"{key} is in another shard than in the local build"
            inexact.setdefault(key, set()).update(compare_sample(key, got, local_shards[fmt][key]))
    print("maps not bit-identical between cluster and local:", {k: sorted(v) for k, v in inexact.items() if v})
    # the build is byte-deterministic: a shard whose samples are all bit-identical is the same file
    shard_of = {key: entry[2] for key, entry in cluster_shards["parquet"].items()}
    exact_shards = set(shard_of.values()) - {shard_of[key] for key, maps in inexact.items() if maps}
    for index in exact_shards:
        assert shard_file_bytes(tmp_path / "shards_cluster", index) == shard_file_bytes(
            tmp_path / "shards_local", index), f"shard {index} holds identical samples but its files differ"


def wait_for_partial_render(process: subprocess.Popen, out: Path, total: int, node: subprocess.Popen) -> int:
    """Block until some samples (not all) are on disk while ``node`` is rendering; return how many."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        landed = len(scan_samples(out).samples) if out.is_dir() else 0
        if 0 < landed < total and busy_with(node, "_render_item"):
            return landed
        assert landed < total, "every sample landed before the second node was caught rendering"
        if process.poll() is not None:
            raise AssertionError(f"render exited early with {process.returncode}: {process.stderr.read()[-3000:]}")
        time.sleep(0.1)
    raise AssertionError("no sample landed in time")


def assert_exact_sample_folder(out: Path, keys: list[str]) -> None:
    """The raw folder holds exactly ``keys``, each once, whole and valid; nothing else looks like a sample."""
    scan = scan_samples(out)
    found = [read_sample(path) for path in scan.samples]
    for sample in found:
        validate_sample(sample)
    assert sorted(s.key for s in found) == keys                      # exact set, no duplicates
    assert not scan.leftovers, scan.leftovers
    sample_dirs = {p.relative_to(out) for p in scan.samples}
    leaves = {p.relative_to(out) for p in out.glob("*/*/*") if p.is_dir()}
    assert leaves == sample_dirs, leaves - sample_dirs               # no stray half-written folders


@pytest.mark.slow
@pytest.mark.blender
def test_killing_the_second_node_mid_render_loses_and_duplicates_nothing(cluster, tmp_path):
    scenes, samples = 3, 2
    keys = expected_keys(scenes, samples)
    out = tmp_path / "raw"
    args = [*render_args(scenes, samples, out, workers=3), "--ray-address", cluster.address]
    process = subprocess.Popen([str(VENV_BIN / "depthcur"), *args], env=cluster.env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        landed = wait_for_partial_render(process, out, len(keys), cluster.worker)
        kill_node(cluster.worker)
        assert not cluster.worker_alive()
        _, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert 0 < landed < len(keys)
    # Either Ray retried the lost tasks on the head (exit 0) or the run failed; a re-run with the same
    # arguments resumes in both cases (and is then a no-op that only sweeps the killed writes' temporaries)
    first = json.loads((out / "render_report.json").read_text())
    assert process.returncode in (0, 1), stderr[-3000:]
    assert (process.returncode == 0) == first["ok"], stderr[-3000:]
    print(f"killed the second node after {landed} of {len(keys)} samples; first run exit {process.returncode}, "
          f"rendered {len(first['rendered'])}, failed {sorted(first['failures'])}")
    depthcur(*args, env=cluster.env)
    resumed = json.loads((out / "render_report.json").read_text())
    assert resumed["ok"] and sorted(resumed["skipped"] + resumed["rendered"]) == keys
    assert set(resumed["skipped"]) >= set(first["rendered"])
    if first["ok"]:
        assert resumed["rendered"] == []
    assert_exact_sample_folder(out, keys)

    shards = tmp_path / "shards"
    depthcur("build-shards", "--in", str(out), "--out", str(shards), "--samples-per-shard", "2",
             "--ray-address", cluster.address, env=cluster.env)
    manifest = json.loads((shards / "manifest.json").read_text())
    assert manifest["counts"]["total"] == len(keys) and manifest["counts"]["quarantined"] == 0
    verify = depthcur("shards", "verify", str(shards))  # decodes every sample of both formats
    assert f"{2 * len(keys)} samples decoded, OK" in verify.stdout + verify.stderr, verify.stderr
    assert sorted(shard_samples(shards)["parquet"]) == keys
