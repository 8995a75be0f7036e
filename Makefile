# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export FLASK_APP := community

.PHONY: run test test-fast browser nginx bench clean

$(VENV)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-run
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Development server with the real episode list and a sample discussion, and one job
# worker beside it (mail is printed here); stopping the server stops the worker.
run: $(VENV)/.installed-run
	FLASK_DEBUG=1 $(BIN)/flask db upgrade
	FLASK_DEBUG=1 $(BIN)/flask demo
	trap 'kill $$worker 2>/dev/null' EXIT; \
	FLASK_DEBUG=1 PUBLIC_URL=http://127.0.0.1:$(PORT) $(BIN)/flask worker & worker=$$!; \
	FLASK_DEBUG=1 PUBLIC_URL=http://127.0.0.1:$(PORT) HOST_ALIASES=localhost $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# Debian's chromium for the browser tests and nginx for the tests of deploy/nginx.conf;
# they skip with a reason when a package cannot be had.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) >/dev/null 2>&1 \
	      || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium not found (install Debian's chromium): browser tests will be skipped"; fi; }

nginx:
	@test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light \
	      && { command -v service >/dev/null 2>&1 && service nginx stop || true; }) >/dev/null 2>&1 \
	      || echo "nginx could not be installed: the nginx tests will be skipped"; \
	  else echo "nginx not found (install Debian's nginx): the nginx tests will be skipped"; fi; }

# The import contracts first ([tool.importlinter] in pyproject.toml): a fraction of a second.
test: $(VENV)/.installed-dev browser nginx
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest

test-fast: $(VENV)/.installed-dev
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest -x -q --ignore=tests/e2e

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache
