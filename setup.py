"""Maps each top-level stage folder to the ``depthcur.<stage>`` subpackage.

The repository keeps the stages as top-level folders (``render/``, ``train/`` ...) so
that the layout reads like the pipeline, while the import names stay namespaced and
no bare ``render`` or ``train`` module ever lands on ``sys.path``.
"""

from setuptools import find_packages, setup

STAGES = ("schemas", "render", "capture", "curate", "train", "evaluate")

package_dir = {"depthcur": "depthcur"}
packages = ["depthcur"] + [f"depthcur.{p}" for p in find_packages("depthcur")]
for stage in STAGES:
    package_dir[f"depthcur.{stage}"] = stage
    packages.append(f"depthcur.{stage}")
    packages += [f"depthcur.{stage}.{p}" for p in find_packages(stage)]

setup(package_dir=package_dir, packages=packages)
