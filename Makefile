# VendBot: `make run` starts the whole shop on a fresh machine, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres lint audit bench install static vendor messages clean screenshots

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: install python3.11 (or set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when requirements.txt changes.
$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# Chart.js comes from npm into static/vendor (no CDN: the shop's machines have no internet).
static/vendor/chart.umd.js: package.json
	@if command -v npm >/dev/null 2>&1; then \
		npm install --no-audit --no-fund --silent && mkdir -p static/vendor && \
		cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/dist/chart.umd.js.map static/vendor/; \
	else echo "npm not found: install Node.js (apt-get install nodejs npm) to build the dashboard charts"; exit 1; fi

vendor: static/vendor/chart.umd.js

messages: install
	@if command -v msgfmt >/dev/null 2>&1; then DEBUG=1 $(BIN)/python manage.py compilemessages -v0 --ignore='.venv/*' --ignore='node_modules/*'; \
	else echo "msgfmt not found (apt-get install gettext): using the committed .mo files"; fi

static: install vendor
	DEBUG=1 $(BIN)/python manage.py collectstatic --noinput -v0

run: install vendor messages
	@bin/run $(PORT)

test: install vendor
	bin/test

test-postgres: install vendor
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bin/test

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python bin/check_function_length.py
	$(BIN)/python bin/scan_secrets.py

audit: install
	$(BIN)/pip-audit -r requirements.txt --progress-spinner off

# Every bench, each with its own time and the total (target: under 5 minutes on the project's 2-core machine). Four
# run shorter than their defaults here: the accounting reports on 300,000 lines, purchases 2 s per level, the fan-out
# after a 6 s quiet spell, the load test 10 s per run; docs/performance.md gives each one's own command.
bench: install
	@start=$$(date +%s); for script in $(filter-out %_site.py bench/locustfile.py bench/databases.py,$(wildcard bench/*.py)); do \
		case $$script in \
			bench/accounting_reports.py) args="--lines 300000";; \
			bench/purchase_throughput.py) args="--seconds 2";; \
			bench/dashboard_fanout.py) args="--idle-seconds 6";; \
			bench/load_locust.py) args="--seconds 10";; \
			*) args="";; \
		esac; \
		echo "== $$script $$args"; began=$$(date +%s); $(BIN)/python $$script $$args || exit 1; \
		echo "   ($$(( $$(date +%s) - began )) s)"; done; \
	echo "== make bench: $$(( $$(date +%s) - start )) s in total (target < 300 s)"

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache

# New screenshots for the README (docs/screenshots/), from the browser tests that take them.
screenshots: install vendor
	UPDATE_SCREENSHOTS=1 bin/test -m browser tests/chats/test_tablet_kiosk_browser.py tests/dashboard/test_browser.py
