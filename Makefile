# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# The tests run on every core (pytest-xdist; tests/conftest.py gives each worker databases
# of its own): on 2 cores the suite takes about 0.6 of one process's time. TEST_WORKERS=0: one process.
# Then, alone on the machine, the tests that hold real gunicorn servers to time bounds (an
# answer within a second while a worker renders a hostile body): another worker's tests
# on the same cores would be measured with them.
TEST_WORKERS ?= auto
PYTEST_ALL = $(1) -n $(TEST_WORKERS) -m "not reliability$(2)" && $(1) -m "reliability$(2)"
export FLASK_APP := community

.PHONY: run test test-fast browser nginx bench bench-release-day clean lock

# Installs take exactly the versions in the lock files (make lock writes them from the
# ranges in pyproject.toml), so two installs a week apart are the same.
$(VENV)/.installed-run: requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed-run
	$(BIN)/pip install -q -r requirements-dev.lock
	touch $@

# After changing a dependency in pyproject.toml: `make lock`. To move every pin to the
# newest release the ranges allow: `make lock UPGRADE=--upgrade`. One lock for Python
# 3.11-3.13 (--universal writes markers where they differ); dev pins agree with runtime's.
lock: $(VENV)/.installed-dev
	$(BIN)/uv pip compile -q --universal --python-version 3.11 $(UPGRADE) pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile -q --universal --python-version 3.11 $(UPGRADE) --extra dev -c requirements.lock \
	  pyproject.toml -o requirements-dev.lock

# The CI matrix (.ci/run): the suite on SQLite with another supported Python
# (`make test-python-3.13`), in a venv of its own from the same lock file, without the
# browser tests (-m "not e2e"): Chromium does what it did under 3.11, and they are a quarter
# of the time that CI's 90 minutes cannot spend three times. pyenv's build first: its
# python3.X shim exists on PATH but refuses to run an inactive version.
PYENV_ROOT ?= $(HOME)/.pyenv
test-python-%: nginx
	test -x .venv-$*/bin/python || { py=$$(ls -d $(PYENV_ROOT)/versions/$*.*/bin/python$* 2>/dev/null | tail -n1); \
	  test -n "$$py" || py=python$*; $$py -m venv .venv-$*; }
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/pip install -q -r requirements-dev.lock
	.venv-$*/bin/pip install -q --no-deps -e .
	.venv-$*/bin/lint-imports --no-logo
	unset TEST_DATABASE_URL; $(call PYTEST_ALL,.venv-$*/bin/pytest -q, and not e2e)

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
# Then the tests on every core (TEST_WORKERS, above).
test: $(VENV)/.installed-dev browser nginx
	$(BIN)/lint-imports --no-logo
	$(call PYTEST_ALL,$(BIN)/pytest)

test-fast: $(VENV)/.installed-dev
	$(BIN)/lint-imports --no-logo
	$(call PYTEST_ALL,$(BIN)/pytest -x -q, and not e2e)

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

# A hot thread under writes (issue 25): two 60 s mixes, about 3 minutes with the data.
bench-release-day: $(VENV)/.installed-dev
	$(BIN)/python bench/release_day.py

clean:
	rm -rf $(VENV) instance .pytest_cache
