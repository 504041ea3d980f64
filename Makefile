# Two entry points on a fresh machine: `make demo` and `make test`. Both install first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
DEB    := berkeley-abc yosys chromium

.PHONY: install system-deps demo test lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0          # the CPU wheel; an unpinned torch pulls CUDA packages
	$(PIP) install -q -e ".[dev,tl,ray]"
	touch $(STAMP)

install: $(STAMP)

# Debian tools the tests drive: berkeley-abc and yosys (logic cross-checks), chromium (report test).
system-deps:
	@missing=""; for b in berkeley-abc yosys chromium; do command -v $$b >/dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB) >/dev/null; \
	  else echo "please install: sudo apt-get install $(DEB)"; exit 1; fi; \
	fi

demo: install
	$(VENV)/bin/tritlens train --preset quick --out runs/quick --resume
	$(VENV)/bin/tritlens info runs/quick

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

test: install system-deps lint
	$(VENV)/bin/pytest -q -n 2

bench: install
	$(PY) benchmarks/bench_train_step.py

clean:
	rm -rf $(VENV) build *.egg-info
