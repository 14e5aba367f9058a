# The two set-up commands are `make run` and `make test`; everything else is optional.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test setup infra lint types unit bench faults lock schemas clean

run: setup
	$(PY) -m deploy.run

test: setup lint types
	@scripts/ensure-infra.sh --browser
	$(VENV)/bin/pytest -q

setup: $(VENV)/.installed infra

$(VENV)/.installed: requirements.lock pyproject.toml scripts/bootstrap.sh
	scripts/bootstrap.sh

infra:
	@scripts/ensure-infra.sh

lint: setup
	$(VENV)/bin/ruff check .

types: setup
	$(VENV)/bin/mypy

# wrk is the HTTP load generator of `make bench` (Debian's package); installed when missing, as root.
bench: setup
	@command -v wrk >/dev/null || { [ "$$(id -u)" -eq 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
	  || { echo "missing: wrk. Install with: sudo apt-get install -y wrk" >&2; exit 1; }
	$(PY) -m bench
	$(PY) -m bench.fanout

faults: setup
	$(PY) -m bench.faults

# Re-resolve the pinned dependencies after editing pyproject.toml.
lock:
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -o requirements.lock

# Re-export the JSON schemas of the event contracts after changing one (reviewed in the diff).
schemas: setup
	$(PY) -m shared.contracts.export

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
