"""Each stage's imports are declared: in `dependencies` or in the stage's extra (pyproject.toml).

Installs nothing: every module is read with ast (imports inside functions count), each third-party
top-level name is mapped to the distribution that provides it in this environment, and that
distribution must be in the stage's requirements. The rule:

- `core` and `schemas` (below every stage) and the CLI/demo modules in `depthcur/` use only the base
  `dependencies`; the CLI loads a stage's modules only when one of its verbs runs.
- every other stage has an extra of its own name, and an extra includes the extras of the lower stages
  its stage imports (`train = ["depthcur[curate]", ...]`, `evaluate = ["depthcur[train]", ...]`).
- OPTIONAL_IMPORTS lists the SDKs a user supplies; each is imported inside a function that says
  what is missing.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PROJECT = "depthcur"
# stage -> (its source folder, its extra; None: the base dependencies only)
STAGES = {
    "core": ("depthcur/core", None),
    "schemas": ("schemas", None),
    "render": ("render", "render"),
    "capture": ("capture", "capture"),
    "curate": ("curate", "curate"),
    "train": ("train", "train"),
    "evaluate": ("evaluate", "evaluate"),
}
TOP_LEVEL = "depthcur"   # cli.py, demo.py, synthetic.py: the base dependencies only

# Import names a distribution provides without a top-level package of that name.
PROVIDED_BY = {
    "bmesh": "bpy",       # Blender's own modules, importable once bpy is
    "mathutils": "bpy",
}

# (file, top-level import) pairs that no extra declares, each with the reason.
OPTIONAL_IMPORTS = {
    # Orbbec SDK: scripts/setup.sh installs pyorbbecsdk2 with --no-deps (its wheel pins an old numpy);
    # the driver says how to install it when it is missing.
    ("capture/cameras/orbbec/camera.py", "pyorbbecsdk"),
    # ZED: pyzed.sl comes with Stereolabs' ZED SDK installer (PyPI's `pyzed` is unrelated).
    ("capture/cameras/zed/camera.py", "pyzed"),
    # FoundationStereo: the user's clone (its `core` package), the clone's requirements (omegaconf) and
    # torch (the train extra); FoundationStereoUnavailable says what to supply.
    ("curate/stereo/foundation_stereo.py", "core"),
    ("curate/stereo/foundation_stereo.py", "omegaconf"),
    ("curate/stereo/foundation_stereo.py", "torch"),
    # the weights-only reader of .pt/.pth files, which only the FoundationStereo matcher (above) and
    # train (whose extra has torch) call
    ("curate/torch_files.py", "torch"),
    # Camera Depth Models: `--model cdm:PATH` runs ByteDance's rgbddepth package, which the user installs
    # (camera-depth-models); the adapter says how when it is missing.
    ("evaluate/adapters.py", "rgbddepth"),
    # Depth Pro as the prompt stage's prior: the user's clone of apple/ml-depth-pro (its `depth_pro`
    # package); DepthProUnavailable says what to supply.
    ("train/depthpro_prior.py", "depth_pro"),
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_table() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def declared(extra: str | None, project: dict) -> set[str]:
    """Distributions `pip install depthcur[extra]` asks for, following depthcur[...] self-references."""
    names: set[str] = set()
    pending = [Requirement(r) for r in project["dependencies"]]
    seen_extras: set[str] = set()
    if extra:
        pending.append(Requirement(f"{PROJECT}[{extra}]"))
    while pending:
        req = pending.pop()
        if canonical(req.name) != PROJECT:
            names.add(canonical(req.name))
            continue
        for name in req.extras - seen_extras:
            assert name in project["optional-dependencies"], f"pyproject.toml has no extra {name!r}"
            seen_extras.add(name)
            pending += [Requirement(r) for r in project["optional-dependencies"][name]]
    return names


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(absolute module, imported inside a function) for every import statement of the file."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module, in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return found


def providers(top: str, distributions: dict[str, list[str]]) -> set[str]:
    """The distributions that install import name ``top`` here (canonical names)."""
    if top in PROVIDED_BY:
        return {PROVIDED_BY[top]}
    return {canonical(d) for d in distributions.get(top, [])}


def problems_of(root: Path, files: list[Path], extra: str | None, project: dict) -> list[str]:
    """Imports of ``files`` that the base dependencies plus ``extra`` do not cover, one line each.

    ``extra`` None checks against the base dependencies only and skips imports of depthcur's stages
    (the CLI and demo load a stage only when its verb runs)."""
    requirements = declared(extra, project)
    where = f"the {extra} extra" if extra else "the base dependencies"
    distributions = importlib.metadata.packages_distributions()
    problems = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        for module, lazy in imports_of(path):
            top = module.partition(".")[0]
            if top == PROJECT:
                stage = module.split(".")[1] if "." in module else ""
                lower = STAGES.get(stage, (None, None))[1]
                if extra and lower and not declared(lower, project) <= requirements:
                    problems.append(f"{rel} imports {module}: {where} must include depthcur[{lower}]")
            elif top in sys.stdlib_module_names:
                continue
            elif (rel, top) in OPTIONAL_IMPORTS:
                if not lazy:
                    problems.append(f"{rel}: the optional {top} must be imported inside the function using it")
            elif not providers(top, distributions):
                problems.append(f"{rel} imports {top}, which no installed distribution provides: "
                                f"declare it in pyproject.toml or list it in OPTIONAL_IMPORTS")
            elif not providers(top, distributions) & requirements:
                problems.append(f"{rel} imports {top} ({', '.join(sorted(providers(top, distributions)))}), "
                                f"which is not in {where} of pyproject.toml")
    return problems


def stage_problems(stage: str) -> list[str]:
    if stage == "top":
        return problems_of(REPO, sorted((REPO / TOP_LEVEL).glob("*.py")), None, project_table())
    folder, extra = STAGES[stage]
    return problems_of(REPO, sorted((REPO / folder).rglob("*.py")), extra, project_table())


@pytest.mark.parametrize("stage", [*STAGES, "top"])
def test_stage_imports_are_declared(stage):
    problems = stage_problems(stage)
    assert not problems, "\n".join(problems)


def test_extras_include_the_extras_of_lower_stages():
    project = project_table()
    assert {extra for _, extra in STAGES.values() if extra} <= set(project["optional-dependencies"])
    assert declared("curate", project) < declared("train", project) < declared("evaluate", project)
    assert {"torch", "open3d-cpu", "scipy"} <= declared("evaluate", project)
    assert "torch" not in declared("curate", project)


def test_optional_imports_are_still_there():
    for rel, top in OPTIONAL_IMPORTS:
        assert top in {module.partition(".")[0] for module, _ in imports_of(REPO / rel)}, (rel, top)


def test_checker_catches_undeclared_and_eager_imports(tmp_path):
    (tmp_path / "curate" / "stereo").mkdir(parents=True)
    (tmp_path / "curate" / "stereo" / "foundation_stereo.py").write_text(
        "import torch\n\n\ndef load():\n    import omegaconf\n")
    (tmp_path / "curate" / "smooth.py").write_text(
        "import os\nimport numpy\n\n\ndef smooth():\n    from scipy import ndimage\n"
        "    import not_a_real_module_xyz\n    from depthcur.train import loop\n")
    files = sorted((tmp_path / "curate").rglob("*.py"))
    problems = problems_of(tmp_path, files, "curate", project_table())
    assert len(problems) == 4, problems
    assert "curate/smooth.py imports scipy (scipy), which is not in the curate extra" in problems[0]
    assert "not_a_real_module_xyz, which no installed distribution provides" in problems[1]
    assert "depthcur.train: the curate extra must include depthcur[train]" in problems[2]
    assert "foundation_stereo.py: the optional torch must be imported inside" in problems[3]
