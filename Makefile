# The two commands of the quick start (demo, test), and the benchmarks.
.PHONY: demo test lint bench env clean

VENV_BIN := .venv/bin

env:
	@scripts/bootstrap.sh dev,local,db,rq,example

demo: env
	@scripts/demo.sh

lint: env
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .
	$(VENV_BIN)/mypy
	$(VENV_BIN)/lint-imports

# The Django tests run twice: on SQLite with everything else, then on PostgreSQL.
DJANGO_TESTS = tests/django
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

test: lint
	@scripts/services.sh
	$(VENV_BIN)/pytest
	DATABASE_URL=$(PG_URL) $(VENV_BIN)/pytest -q --create-db $(DJANGO_TESTS)

bench: env
	$(VENV_BIN)/python -m bench

clean:
	rm -rf .venv build *.egg-info .pytest_cache .mypy_cache .ruff_cache
