#!/usr/bin/env bash
# checkov, the PyPI IaC scanner the chart tests run, in a venv of its own (.cache/checkov): its
# pinned dependencies clash with the collection's .venv. Installed once per pinned version.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=3.3.30
venv="$root/.cache/checkov"
if [ "$("$venv/bin/checkov" --version 2>/dev/null)" != "$version" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$version"
fi
ln -sf "$venv/bin/checkov" "$root/.cache/bin/checkov"
echo "checkov: $("$venv/bin/checkov" --version)"
