# streamal: `make demo` and `make test` each set up .venv by themselves.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test check test-unit test-integration lint bench tools clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,eval]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/streamal demo --events 20000

# The real Prometheus (and promtool) and Chromium the tests run; installed with apt where missing.
tools:
	@missing=""; \
	command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "please install:$$missing (e.g. sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# lint, types (mypy strict), the import contracts (the architecture), then every test with coverage
# The suite runs on TEST_WORKERS processes, a test file to each (a file's broker and fixtures stay in one
# process); most of an integration test is waiting on a broker or a service, so two workers halve the
# wall time on two cores.
TEST_WORKERS ?= 2

test: $(STAMP) tools check
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --cov=streamal --cov-report=term:skip-covered

check: $(STAMP)
	$(VENV)/bin/ruff check streamal tests benchmarks deploy
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

test-unit: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not integration"

test-integration: $(STAMP) tools
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m integration

lint: check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .coverage build *.egg-info
