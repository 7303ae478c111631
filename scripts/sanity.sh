#!/usr/bin/env bash
# ansible-test sanity for this collection. ansible-test needs the collection at
# .../ansible_collections/homelab/k8s, so the tracked and new (not ignored) files are
# copied to a temp tree first. Its venvs bootstrap pip with a script from a host that
# is not reachable here: an offline stand-in (scripts/get_pip_offline.py) is put in
# its cache, backed by the pip wheel from PyPI. Extra arguments go to ansible-test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$root/.venv/bin:$PATH"
pip_version="$(python - <<'PY'
import inspect, re
from ansible_test._internal import python_requirements as pr
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(pr.get_venv_packages)).group(1))
PY
)"
cache="$HOME/.ansible/test/cache"
stand_in="$cache/get_pip_${pip_version//./_}.py"
if [ ! -f "$cache/pip-wheel/pip.whl" ] || ! cmp -s "$root/scripts/get_pip_offline.py" "$stand_in"; then
  mkdir -p "$cache/pip-wheel"
  tmp="$(mktemp -d)"
  python -m pip download --quiet --no-deps "pip==$pip_version" -d "$tmp" 2>&1 | grep -v '^WARNING: Location' || true
  mv "$tmp"/pip-"$pip_version"-*.whl "$cache/pip-wheel/pip.whl"
  rm -rf "$tmp"
  cp "$root/scripts/get_pip_offline.py" "$stand_in"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/homelab/k8s"
mkdir -p "$dest"
cd "$root"
git ls-files --cached --others --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$dest/"
cd "$dest"
# ansible-test reads the file list from git when it is a git tree; make it one.
git init -q && git add -A
ansible-test sanity --python 3.11 --color no --requirements "$@"
