#!/usr/bin/env bash
# Pack the containerd built from the Go module proxy at the container_runtime role's pin
# (scripts/components.sh containerd containerd-shim-runc-v2 ctr) as upstream's release page ships
# it: containerd-<version>-linux-amd64.tar.gz with bin/containerd, bin/containerd-shim-runc-v2 and
# bin/ctr, and its .sha256sum. The role's directory source (container_runtime_containerd_source:
# directory) installs it; the molecule scenario and the lab use it where GitHub is unreachable.
#
# scripts/containerd-release.sh DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: $0 DIR}"
# shellcheck source=scripts/role-default.sh
source "$root/scripts/role-default.sh"
version="$(role_default container_runtime_containerd_version)"
version="${version#v}"
archive="containerd-$version-linux-amd64.tar.gz"
built="$("$root/.cache/bin/containerd" --version 2>/dev/null || true)"
if [[ " $built " != *" v$version "* ]]; then
  echo "containerd-release: .cache/bin/containerd is '${built:-missing}', the role pins $version:" \
    "run scripts/components.sh containerd containerd-shim-runc-v2 ctr" >&2
  exit 1
fi
if [ -f "$out/$archive.sha256sum" ] && (cd "$out" && sha256sum --check --status "$archive.sha256sum"); then
  echo "containerd-release: $out/$archive is up to date"
  exit 0
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$out"
for name in containerd containerd-shim-runc-v2 ctr; do
  cp -L "$root/.cache/bin/$name" "$stage/bin/$name"
  chmod 0755 "$stage/bin/$name"
done
tar -C "$stage" --owner=0 --group=0 --mtime=@0 -czf "$out/$archive" bin
(cd "$out" && sha256sum "$archive" >"$archive.sha256sum")
echo "containerd-release: packed $out/$archive"
