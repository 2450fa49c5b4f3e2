# The README's two commands. Both create .venv/ when it is missing.
.PHONY: setup demo test bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/depthcur demo --out demo_out

test: setup
	bash scripts/test.sh

bench: setup
	for b in bench/*.py; do .venv/bin/python $$b || exit 1; done
