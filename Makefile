# Two commands set everything up on a fresh machine: `make run` and `make test`.

# The first Python >= 3.12 found. With pyenv, .python-version selects 3.13 for `python3` here.
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; \
	done)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint load-stop load-mixed bench check-python clean

check-python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "No Python 3.12 or newer found: install python3.13 or python3.12 (or pyenv), or run make PYTHON=/path/to/python3.12."; \
		exit 1; fi

# Reinstall only when pyproject.toml changed since the last install.
$(VENV)/.installed: pyproject.toml | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev]'
	@touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "  Open http://$(HOST):$(PORT)/ and log in as staff, admin or manager (password above)."
	@echo "  Ctrl-C stops the server and the task worker."
	@echo
	@# The task worker sends broadcasts beside the web server; Ctrl-C stops both.
	$(PY) manage.py worker --no-reload --no-startup-delay & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver --skip-checks $(HOST):$(PORT)

# The whole suite on PostgreSQL (a throwaway server unless DATABASE_URL is set), then again
# on SQLite without the PostgreSQL-only tests and the browser tests (their server has its own
# SQLite database in either run).
test: $(VENV)/.installed
	tests/ensure-package.sh chromium "the browser tests"
	tests/with-postgres.sh $(PY) -m pytest -m "not sqlite" $(PYTEST_ARGS)
	DATABASE_URL=sqlite:///test.sqlite3 $(PY) -m pytest -m "not postgres and not browser" $(PYTEST_ARGS)

# Not part of make test: the benchmark at 1,000,000 contacts (a few minutes), written to
# bench/latest.txt; and a load of signed STOP webhooks at gunicorn, with its figures.
bench: $(VENV)/.installed
	tests/ensure-package.sh wrk "the STOP webhook load"
	tests/with-postgres.sh $(PY) bench/run.py


load-stop: $(VENV)/.installed
	tests/ensure-package.sh wrk "the STOP webhook load"
	tests/with-postgres.sh $(PY) bench/load_stop_webhooks.py

# Not part of make test: 50 staff browsing the Contacts table while 200 STOPs a second
# arrive, for 60 seconds, on a throwaway PostgreSQL with 100,000 contacts.
load-mixed: $(VENV)/.installed
	tests/with-postgres.sh $(PY) bench/load_mixed.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
