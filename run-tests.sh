#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite.
# Extra arguments go to pytest (e.g. ./run-tests.sh -k customers).
# With DATABASE_URL=postgresql://... the suite runs on PostgreSQL instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"

# System packages: Pango for invoice PDFs (WeasyPrint), a Japanese font for Japanese invoices' PDFs,
# and Debian's Chromium for the page tests.
missing=()
ldconfig -p | grep -q "libpangoft2-1.0.so" || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
[ -n "$(fc-list :lang=ja 2>/dev/null)" ] || missing+=(fonts-ipafont-gothic)
[ -x "${BILLFOLD_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} (Debian packages)..."
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "The tests need these system packages: ${missing[*]}. Install them (e.g. sudo apt-get install ${missing[*]})" >&2
    echo "and run this again; the page tests fail without Chromium, the PDF tests without Pango or a Japanese font." >&2
  fi
fi

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
