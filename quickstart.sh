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
echo "Installing Billfold (first run takes a minute)..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/billfold start "$@"
