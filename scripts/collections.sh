#!/usr/bin/env bash
# Make the collections this project needs importable without Galaxy:
#   .cache/collections/ansible_collections/homelab/k8s  -> this repository
#   kubernetes.core, community.general, ansible.posix, containers.podman
#     unpacked from the PyPI `ansible` wheel (PyPI is reachable where Galaxy is not).
# Real users install requirements.yml from Galaxy instead.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ansible_version="${ANSIBLE_BUNDLE_VERSION:-12.3.0}"
dest="$root/.cache/collections"
wanted=(kubernetes/core community/general ansible/posix containers/podman awx/awx)
# The stamp names the bundle and the list, so adding a collection to the list unpacks again.
stamp="$dest/.from-ansible-$ansible_version-$(echo "${wanted[*]}" | sha256sum | cut -c1-12)"

mkdir -p "$dest/ansible_collections/homelab"
ln -sfn "$root" "$dest/ansible_collections/homelab/k8s"

if [ -f "$stamp" ]; then
  echo "collections from ansible $ansible_version are in place"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"${PYTHON:-python3}" -m pip download --quiet --no-deps "ansible==$ansible_version" -d "$tmp" 2>&1 | grep -v '^WARNING: Location' || true
wheel="$(ls "$tmp"/ansible-"$ansible_version"-*.whl)"
for c in "${wanted[@]}"; do rm -rf "$dest/ansible_collections/$c"; done
"${PYTHON:-python3}" - "$wheel" "$dest" "${wanted[@]}" <<'PY'
import sys
import zipfile

wheel, dest, *wanted = sys.argv[1:]
prefixes = tuple(f"ansible_collections/{c}/" for c in wanted)
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(prefixes)]
    archive.extractall(dest, members)
print(f"unpacked {len(wanted)} collections ({len(members)} files)")
PY
touch "$stamp"
