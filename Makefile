# Concord: `make run` to try it, `make test` to test it, `make check` before you commit.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-sqlite check lint format worker clean screenshots

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-readers.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-readers.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed node_modules/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo
	@if [ -n "$$REDIS_URL" ]; then \
		echo "REDIS_URL is set: starting a Celery worker with beat (the sweep) in the background (logs: celery-worker.log)"; \
		$(VENV)/bin/celery -A concord worker -B --schedule=$(VENV)/celerybeat-schedule --loglevel=INFO --concurrency=2 > celery-worker.log 2>&1 & \
	fi
	@echo ""
	@echo "Concord is starting at http://$(HOST):$(PORT)/  (log in at http://$(HOST):$(PORT)/accounts/login/)"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest

# The suite on the embedded default that `make run` gives a new user: SQLite, tasks run
# in-process, no Redis (DATABASE_URL and REDIS_URL unset, whatever the shell has). Tests marked
# postgresql, redis or worker are skipped, each with its reason (-rs lists them). With
# REQUIRE_SERVICES set (CI), Chromium is required here: the browser tests must run.
test-sqlite: install
	env -u DATABASE_URL -u REDIS_URL REQUIRE_SERVICES=$${REQUIRE_SERVICES:+chromium} \
		TEST_ARTIFACTS=$(CURDIR)/test-artifacts/sqlite $(PY) -m pytest -rs

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

check: lint test

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

worker: install
	$(VENV)/bin/celery -A concord worker --loglevel=INFO

clean:
	rm -rf $(VENV) node_modules staticfiles

# Every page for every role at 1440 and 390 px into docs/screenshots/ (demo data, system Chromium).
screenshots: install
	$(PY) tools/screenshots.py
