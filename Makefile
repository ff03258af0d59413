# The two commands a newcomer runs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
PORT ?= 5000
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
CSS := portal/static/build/portal.css

.PHONY: run test install assets chromium db demo clean lint

## make run: install, migrate a SQLite database, load the demo, serve on http://127.0.0.1:$(PORT)
run: install assets
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "Serving the portal on http://127.0.0.1:$(PORT) (Ctrl+C to stop)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

## make test: install everything the tests need, then run the suite on SQLite and on PostgreSQL
test: install assets chromium tests/oidc/node_modules/.package-lock.json
	$(PY) scripts/run_tests.py --postgres-url "$(POSTGRES_URL)" $(ARGS)

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

assets: $(CSS)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The real OpenID Connect provider the sign-on tests start (npm's oidc-provider); `make run` does not need it
tests/oidc/node_modules/.package-lock.json: tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CSS): node_modules/.package-lock.json portal/assets/portal.scss
	mkdir -p portal/static/build
	npx --no-install sass --no-source-map --style=compressed --load-path=node_modules portal/assets/portal.scss $(CSS)
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js portal/static/build/
	cp node_modules/chart.js/dist/chart.umd.min.js portal/static/build/
	rm -rf portal/static/build/assets
	cp -r node_modules/govuk-frontend/dist/govuk/assets portal/static/build/assets

## Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

demo: install
	$(FLASK) seed-demo

lint: install
	$(VENV)/bin/ruff check portal workers config tests scripts || true

clean:
	rm -rf $(VENV) node_modules portal/static/build instance
