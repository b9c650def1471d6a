# Parking Permits Desk: `make run` and `make test` are the contract (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := APP_ENV=development $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-dev assets system-packages test-system-packages db demo bench clean

## make run: install, migrate, load demo data into an empty database, serve with gunicorn
run: install assets system-packages db
	@echo "Serving Parking Permits Desk on http://$(HOST):$(PORT)"
	@echo "Demo sign-ins: username = role (advisor, team_leader, service_lead, service_manager, parking_team, director, admin), password: $${DEMO_PASSWORD:-demo-password}"
	APP_ENV=development exec $(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

## make test: install everything, then SQLite suite, PostgreSQL suite, browser tests
test: install-dev assets test-system-packages
	bash scripts/run-tests.sh

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# npm ci wipes node_modules, so it runs only when the lock file changes.
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

assets: static/dist/.built
static/dist/.built: node_modules/.installed $(wildcard static/src/*.scss) scripts/build-assets.sh
	bash scripts/build-assets.sh
	@touch $@

# Debian packages: fonts for PDFs always; browser, PDF tools and PostgreSQL for tests.
RUN_PACKAGES := fonts-dejavu-core
TEST_PACKAGES := $(RUN_PACKAGES) chromium poppler-utils postgresql
system-packages:
	@bash scripts/system-packages.sh $(RUN_PACKAGES)
test-system-packages:
	@bash scripts/system-packages.sh $(TEST_PACKAGES)

db: install
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty

bench: install-dev assets
	$(BIN)/python bench/http_load.py

clean:
	rm -rf $(VENV) node_modules static/dist
