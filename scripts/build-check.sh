#!/usr/bin/env bash
# The collection as users get it: build the tarball, install it into an empty
# collections path, and have ansible-doc show every module and filter from there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$root/.venv/bin:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

ansible-galaxy collection build --force --output-path "$work" "$root"
tarball="$(ls "$work"/homelab-k8s-*.tar.gz)"
# Dependencies come from Galaxy in real use; here they are on the dev collections path.
ANSIBLE_COLLECTIONS_PATH="$work/installed" ansible-galaxy collection install --no-deps -p "$work/installed" "$tarball"
installed="$work/installed/ansible_collections/homelab/k8s"
test -f "$installed/MANIFEST.json"

# Nothing that only serves development may ship, nor the example inventories (their addresses).
for unwanted in .venv .cache .ci tests/output inventories; do
  if [ -e "$installed/$unwanted" ]; then echo "tarball contains $unwanted" >&2; exit 1; fi
done

export ANSIBLE_COLLECTIONS_PATH="$work/installed:$root/.cache/collections"
cd "$work"
for type in module filter inventory test; do
  mapfile -t plugins < <(ansible-doc -t "$type" --list homelab.k8s --json | python -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))')
  for plugin in "${plugins[@]}"; do
    [ -n "$plugin" ] || continue
    # The doc must come from the installed tarball, not the working tree.
    ansible-doc -t "$type" --json "$plugin" | python -c '
import json, sys
name, expected = sys.argv[1], sys.argv[2]
doc = json.load(sys.stdin)[name]["doc"]
assert doc.get("short_description"), f"{name}: no short_description"
assert doc["filename"].startswith(expected), f"{name}: documented from {doc['"'"'filename'"'"']}, not {expected}"
print(f"ansible-doc {name}: {doc['"'"'short_description'"'"']}")
' "$plugin" "$installed"
  done
done
echo "built and installed $(basename "$tarball")"
