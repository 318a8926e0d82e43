# Packshot Studio: `make run` starts the app, `make test` runs the whole suite. Both install what they need.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3.12
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
CHROMIUM := /usr/bin/chromium

.PHONY: run install models test test-fast test-sqlite test-postgres lint browser-deps postgres bench bench-piktid clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) models

# The full U²-Net weights (176 MB, outside git under var/models): fetched once, hash-checked; if the download
# fails the local engine still runs on the bundled U²-Net-p, so this step never fails the build.
models: $(STAMP)
	@$(BIN)/python -c "from packshots.imaging.weights import main; main()"

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo ""
	@echo "  Packshot Studio on http://127.0.0.1:$${PORT:-8000}   log in as demo@example.com / packshot-demo"
	@echo ""
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start --port $${PORT:-8000}

browser-deps:
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation) >/dev/null; }

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

lint: install
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --check .

test-sqlite: install browser-deps
	$(BIN)/pytest -n 2 --dist loadfile

# The same suite on PostgreSQL, less the pure modules that never touch a database.
test-postgres: install postgres
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 --dist loadfile -m "not pure and not browser"

test: lint test-sqlite test-postgres

# The quick loop while developing: SQLite only, without the slow real-photo and browser tests.
test-fast: install
	$(BIN)/pytest -n 2 --dist loadfile -m "not slow and not browser"

bench: install
	$(BIN)/python -m bench.imaging --images ../shared/garments

# PiktID engine figures (bench/README.md): a PostgreSQL database $(BENCH_DB) is dropped and re-created.
BENCH_DB ?= bench_piktid
bench-piktid: install postgres
	$(BIN)/python -m bench.piktid_scheduler --database $(BENCH_DB)
	$(BIN)/python -m bench.webhook_ingest --database $(BENCH_DB)
	$(BIN)/python -m bench.piktid_upload

# Fault suite (bench/README.md): 50 jobs, 2 workers, one SIGKILLed twice; local engine, then the faulty fake PiktID.
FAULTS_DB ?= bench_f1
.PHONY: bench-faults
bench-faults: install postgres
	$(BIN)/python -m bench.faults --part local --database $(FAULTS_DB)
	$(BIN)/python -m bench.faults --part piktid --database $(FAULTS_DB)

clean:
	rm -rf $(VENV) var .pytest_cache
