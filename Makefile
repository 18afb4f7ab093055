# Two commands on a fresh machine: `make demo` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
# Machines of this project keep the CPU build of torch 2.13.0 in /opt/wheels; elsewhere pip finds torch on PyPI.
FIND    = $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: demo test lint studio browser bench default-model default-critic default-adain default-matcher clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(FIND) -e '.[test]'
	@touch $(STAMP)

# The studio's browser test drives Debian's chromium through Playwright (never a downloaded browser).
# Installed here when missing and the machine lets us (root or sudo, apt); otherwise that one test says why it skips.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo -n ); \
	  command -v apt-get >/dev/null 2>&1 && $$SUDO apt-get update -qq >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 && echo "installed chromium" \
	  || echo "chromium is not installed and could not be (the browser test will skip): apt-get install chromium"; }

demo: $(STAMP)
	$(VENV)/bin/artforge demo -o out/demo

test: $(STAMP) browser
	$(PY) -m pytest -q

# The browser studio on the shipped model and your runs/ (http://127.0.0.1:7860); Ctrl-C stops it.
studio: $(STAMP)
	$(VENV)/bin/artforge studio

# What CI checks besides the tests (.ci/run): lint and formatting, with the ruff version pinned in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

bench: $(STAMP)
	$(PY) bench/train_speed.py

# Re-trains the small model shipped in src/artforge/assets/default-model (about 30 min on one CPU thread).
default-model: $(STAMP)
	$(PY) scripts/train_default_model.py

# Re-trains the shipped critic in src/artforge/assets/default-critic (offline; minutes on 2 CPU cores).
default-critic: $(STAMP)
	$(PY) scripts/train_default_critic.py

# Re-trains the shipped AdaIN decoder in src/artforge/assets/adain-decoder (4 min on a GPU; hours on 2 CPU cores).
default-adain: $(STAMP)
	$(PY) scripts/train_default_adain.py --steps 8000 --crop 256

# Re-trains the shipped image-text matcher in src/artforge/assets/default-matcher (offline; ~10 min on 2 CPU cores).
default-matcher: $(STAMP)
	$(PY) scripts/train_default_matcher.py

clean:
	rm -rf out runs .pytest_cache
