# make demo | make test | make bench | make lint   (each works on a fresh clone: it builds .venv first)
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The shared data mirror, when it sits beside the clone (tests and CI read it); the venv's activate script
# remembers it, so `. .venv/bin/activate; nanozoo train ...` reads it too instead of downloading.
ifneq ($(wildcard ../shared/datasets),)
export NANOZOO_DATA ?= $(abspath ../shared/datasets)
endif

.PHONY: install demo test bench lint clean fashion-mnist browser graphviz

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[ref,dev,fast,kernels,systems]'
	@# TorchRec on the CPU: torchrec==1.9.2 with fbgemm-gpu-cpu==1.8.0, without its `fbgemm-gpu` requirement (the
	@# 2.7 GB CUDA build, which replaces the CPU library and fails to load); its other requirements: `systems`
	$(PY) -m pip install -q --no-deps -c constraints.txt torchrec fbgemm-gpu-cpu
	@if [ -n "$$NANOZOO_DATA" ]; then echo "export NANOZOO_DATA=$$NANOZOO_DATA  # the data mirror (make)" >> $(VENV)/bin/activate; fi
	@$(MAKE) --no-print-directory fashion-mnist
	touch $(STAMP)

# Fashion-MNIST as Debian packages it (/usr/share/datasets/fashion-mnist, 30 MB), where apt runs as root;
# elsewhere a note: the fashion-mnist-* experiments then download it (data/catalogue.py).
fashion-mnist:
	@if [ -d /usr/share/datasets/fashion-mnist ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } || \
	  echo "note: apt-get install dataset-fashion-mnist failed; nanozoo downloads Fashion-MNIST when asked"; \
	else echo "note: no root apt here for dataset-fashion-mnist; nanozoo downloads Fashion-MNIST when asked"; fi

demo: $(STAMP)
	$(VENV)/bin/nanozoo train shakespeare-char-cpu

# Debian's chromium for the search page's browser test (tests/systems/search/test_serve.py), where apt can
# install it (root); elsewhere that test skips and says why. Playwright's own browser download cannot work here.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "make browser: chromium not installed (needs root and apt): the browser test will skip"

# Graphviz's dot for the autograd graph's SVG test (tests/autograd/test_autograd_graph.py), likewise.
graphviz:
	@command -v dot >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; } || \
	  echo "make graphviz: dot not installed (needs root and apt): the SVG test will skip"

# One BLAS/OpenMP thread per xdist worker: 2 workers x 2 threads on 2 cores thrash.
test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile -q

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# ruff, then the layering contract of pyproject.toml (no import circles, no arrow up; see DESIGN.md)
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
