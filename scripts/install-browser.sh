#!/usr/bin/env bash
# Makes sure the web console's browser tests can run: Debian's chromium (run headless) and
# chromium-driver (its WebDriver server), and Python's selenium (from PyPI) in a venv of its
# own. Installs what is missing, is quiet when all is there, and prints the venv's python as
# its last line (crates/ecsctl/tests/console.rs runs tests/browser/console.py with it).
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing Debian's chromium and chromium-driver..." >&2
  apt_install chromium chromium-driver
fi

venv=${ECSCTL_BROWSER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ecsctl/browser-venv}
if ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
  echo "installing selenium into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'selenium>=4.10,<5'
fi
echo "$venv/bin/python"
