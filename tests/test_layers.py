"""The package's structure: the layer contract, no import cycles, and static tools that can follow it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# One public name per layer and the file it must resolve to (through the stage-folder symlinks).
PUBLIC_NAMES = {
    "core": ("depthcur.core.progress", "progress_task", "depthcur/core/progress.py"),
    "schemas": ("depthcur.schemas.record", "Sample", "schemas/record.py"),
    "render": ("depthcur.render.runner", "render_scenes", "render/runner.py"),
    "capture": ("depthcur.capture.recorder", "Recorder", "capture/recorder.py"),
    "curate": ("depthcur.curate.jobs", "run_stereo", "curate/jobs.py"),
    "train": ("depthcur.train.loop", "Trainer", "train/loop.py"),
    "evaluate": ("depthcur.evaluate.metrics", "compute", "evaluate/metrics.py"),
    "cli": ("depthcur.cli", "main", "depthcur/cli.py"),
}


def test_layer_contract_holds():
    """import-linter's layers contract in pyproject.toml: no module imports a layer above its own."""
    proc = subprocess.run([str(VENV_BIN / "lint-imports"), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components of more than one node are the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def test_strongly_connected_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(edges) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    """Module-level import graph, imports inside function bodies included, is acyclic."""
    import grimp

    graph = grimp.build_graph("depthcur", cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert strongly_connected(edges) == []


def jedi_definition(module: str, name: str, project_dir: Path) -> Path | None:
    import jedi

    code = f"from {module} import {name}\n"
    project = jedi.Project(project_dir, environment_path=sys.prefix)
    script = jedi.Script(code, path=project_dir / "probe.py", project=project)
    found = script.goto(1, len(code) - 2, follow_imports=True)
    return Path(found[0].module_path).resolve() if found and found[0].module_path else None


@pytest.mark.parametrize("layer", sorted(PUBLIC_NAMES))
@pytest.mark.parametrize("where", ["repo", "elsewhere"])
def test_jedi_resolves_one_public_name_per_layer(layer, where, tmp_path):
    """Go-to-definition works with the repo open as the project, and from any other folder (via the venv)."""
    module, name, file = PUBLIC_NAMES[layer]
    project_dir = REPO if where == "repo" else tmp_path
    assert jedi_definition(module, name, project_dir) == (REPO / file).resolve()
