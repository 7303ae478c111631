#!/usr/bin/env bash
# Create .venv with the pinned development dependencies. Reinstalls only when
# requirements-dev.txt changes (its hash is kept in .venv/.requirements).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
want="$(sha256sum "$root/requirements-dev.txt" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements" 2>/dev/null)" = "$want" ]; then
  echo "venv is up to date"
  exit 0
fi
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt" 2>&1 \
  | grep -v '^WARNING: Location' || true
"$venv/bin/python" -c 'import ansible, molecule, testinfra, ansiblelint' # fail here, not later
echo "$want" >"$venv/.requirements"
echo "venv ready"
