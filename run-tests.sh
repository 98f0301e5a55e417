#!/usr/bin/env bash
# Install the test dependencies into ./.venv and run the whole test suite.
# Extra arguments go to pytest (e.g. ./run-tests.sh -k customers).
# With DATABASE_URL=postgresql://... the suite runs on PostgreSQL instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" "$@"
