#!/usr/bin/env bash
# checkov, the PyPI IaC scanner the chart tests run, in a venv of its own: its pinned dependencies
# clash with the collection's .venv. Installed once per pinned version into the cache shared by the
# checkouts of this machine (~/.cache/homelab-k8s/checkov), linked as .cache/bin/checkov.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=3.3.30
venv="${XDG_CACHE_HOME:-$HOME/.cache}/homelab-k8s/checkov"
mkdir -p "$root/.cache/bin"
if [ "$("$venv/bin/checkov" --version 2>/dev/null)" != "$version" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$version"
fi
ln -sf "$venv/bin/checkov" "$root/.cache/bin/checkov"
echo "checkov: $("$venv/bin/checkov" --version)"
