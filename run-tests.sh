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
echo "Installing Billfold and its test dependencies into .venv..."
if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
       .venv/bin/python -m pip install --disable-pip-version-check -e ".[test]" ; } > .venv/install.log 2>&1; then
  cat .venv/install.log
  echo "Installing the test dependencies failed (log above, also in .venv/install.log)." >&2
  exit 1
fi
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" "$@"
