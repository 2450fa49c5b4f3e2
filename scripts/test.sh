#!/usr/bin/env bash
# The test command: the whole suite, failing on any failure and on "no tests collected".
set -uo pipefail
cd "$(dirname "$0")/.."
# .venv/bin/pytest, not "python -m pytest": the latter puts the repo root on sys.path, where
# the bare stage folders (render/, train/ ...) would become importable as top-level modules.
.venv/bin/pytest -p no:cacheprovider "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "test: pytest collected no tests" >&2; fi
exit $rc
