# The two commands of the README: `make demo` (main job on the demo data) and `make test`.
# Both create .venv and install retain with its dev extra on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= data/demo
OUT ?= out/demo
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db

.PHONY: install demo test lint bench clean mutate

$(BIN)/retain: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,spark]"
	@touch $@

install: $(BIN)/retain

# 48 months, not the simulator's default 36: outcomes are known only 210 days after a snapshot,
# so 8 quarterly backtest cutoffs with a year of training history before the first need 4 years.
demo: install
	$(BIN)/retain simulate --out $(DEMO) --months 48
	$(BIN)/retain validate --data $(DEMO)
	$(BIN)/retain features --data $(DEMO) --spine both --out $(OUT)/features.parquet
	$(BIN)/retain train --data $(DEMO) --features $(OUT)/features.parquet
	$(BIN)/retain backtest --data $(DEMO) --features $(OUT)/features.parquet --out $(OUT)/backtest
	@# promote exits 3 when the gate keeps the champion (a rerun of the demo): a verdict, not a failure
	$(BIN)/retain promote --target churn --data $(DEMO) --features $(OUT)/features.parquet; \
		status=$$?; test $$status -eq 0 -o $$status -eq 3
	$(BIN)/retain promote --target expansion --data $(DEMO) --features $(OUT)/features.parquet; \
		status=$$?; test $$status -eq 0 -o $$status -eq 3
	@# the month before the data's end first: both runs go into the score ledger, so the scores
	@# and the review say what moved since then (retain explain-change --account ID)
	$(BIN)/retain score --data $(DEMO) --as-of 2026-09-01 --out $(OUT)/scores-2026-09-01.parquet
	$(BIN)/retain score --data $(DEMO) --out $(OUT)/scores.parquet
	$(BIN)/retain plays assign --data $(DEMO) --out $(OUT)/plays
	$(BIN)/retain plays evaluate --data $(DEMO) --out $(OUT)/plays
	$(BIN)/retain report accounts --data $(DEMO) --out $(OUT)/review.html
	@# drift exits 1 when something moved: that is a finding, not a failed demo (2 is an error)
	$(BIN)/retain drift --reference $(OUT)/features.parquet --reference-as-of 2025-04-01 \
		--current $(OUT)/features.parquet --current-as-of 2025-10-01 --out $(OUT)/drift; \
		test $$? -le 1
	@echo ""
	@echo "Backtest report:   $(OUT)/backtest/report.html"
	@echo "Account review:    $(OUT)/review.html"
	@echo "Scores (CRM file): $(OUT)/scores.csv"
	@echo "Plays (CRM file):  $(OUT)/plays/plays.csv"
	@echo "Which plays work:  $(OUT)/plays/plays_effects.html"
	@echo "Drift report:      $(OUT)/drift/drift.html"
	@echo "MLflow UI:         $(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI)"

test: install
	$(BIN)/pytest -n 2

# Mutation testing of the modules that hold the promises (bench/mutate.py): comparison, boolean
# and boundary-constant mutants, one module at a time in a temporary copy, each running only its
# own tests; not part of `make test`. Prints the kill rate per module and every survivor.
# One module: make mutate MUTATE_ARGS="--module features/labels.py"
MUTATE_MINUTES ?= 150
MUTATE_ARGS ?=
mutate: install
	nice $(BIN)/python bench/mutate.py --max-minutes $(MUTATE_MINUTES) --json out/mutate.json $(MUTATE_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(OUT) $(DEMO) mlflow.db mlruns optuna.db retain_scores.duckdb retain_scores.ledger
