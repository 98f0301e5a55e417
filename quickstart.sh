#!/usr/bin/env bash
# Install Billfold into ./.venv and start it on its embedded SQLite database.
#   ./quickstart.sh           start (API on http://127.0.0.1:8000)
#   ./quickstart.sh --demo    start with demo products and customers
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $($PYTHON --version)..."
  "$PYTHON" -m venv .venv
fi
echo "Installing Billfold into .venv (the first run takes a minute)..."
# pip's output goes to a log, shown only if the install fails.
if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
       .venv/bin/python -m pip install --disable-pip-version-check -e . ; } > .venv/install.log 2>&1; then
  cat .venv/install.log
  echo "Installing Billfold failed (log above, also in .venv/install.log)." >&2
  exit 1
fi
exec .venv/bin/billfold start "$@"
