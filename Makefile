# The two commands of the README: `make demo` (main job on the demo data) and `make test`.
# Both create .venv and install retain with its dev extra on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= data/demo
OUT ?= out/demo
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db

.PHONY: install demo test lint bench clean

$(BIN)/retain: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/retain

demo: install
	$(BIN)/retain simulate --out $(DEMO)
	$(BIN)/retain validate --data $(DEMO)
	$(BIN)/retain features --data $(DEMO) --out $(OUT)/features.parquet

test: install
	$(BIN)/pytest -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(OUT) $(DEMO) mlflow.db optuna.db retain_scores.duckdb
