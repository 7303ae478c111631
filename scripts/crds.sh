#!/usr/bin/env bash
# Generate the CustomResourceDefinitions the tests need from their projects' Go API types, with
# controller-gen (scripts/components.txt), the way those projects generate them, into
# .cache/crds/<group>/<group>_<plural>.yaml. The Go module proxy serves the API types as Go
# modules; their YAML files are not fetched from it.
#
# One line a set: a name, the Go module of the API types, its version, the package(s) inside it.
# Generated sets are kept by name, version and recipe in the machine's cache
# ($HOMELAB_CRDS_CACHE, default ~/.cache/homelab-k8s/crds) and linked into .cache/crds.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${HOMELAB_CRDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab-k8s/crds}"
out="$root/.cache/crds"
gen="$root/.cache/bin/controller-gen"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$cache" "$out"
[ -x "$gen" ] || { echo "crds: $gen is missing: run scripts/components.sh controller-gen" >&2; exit 1; }

# name                   module                                                                  version   packages
sets="
monitoring.coreos.com    github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring  v0.85.0   v1
templates.gatekeeper.sh  github.com/open-policy-agent/frameworks/constraint                      v0.0.0-20260616163050-e1eaa1bf6d62  pkg/apis/templates/v1
argoproj.io              github.com/argoproj/argo-cd/v3/pkg/apis/application                     v3.6.1    v1alpha1
"
# Argo CD's module needs Go 1.27: for that set alone the go command takes the go1.27.3 toolchain
# from the Go module proxy (about 76 MB, once a machine); the other sets keep the local Go.
toolchain() {
  case "$1" in
    github.com/argoproj/argo-cd/*) echo go1.27.3 ;;
    *) echo local ;;
  esac
}

while read -r name module version packages; do
  [ -n "${name:-}" ] || continue
  key="$(printf '%s %s %s %s %s' "$name" "$module" "$version" "$packages" "$(sha256sum "$gen" | cut -c1-12)" | sha256sum | cut -c1-12)"
  target="$cache/$name/$version-$key"
  exec 9>"$cache/.lock-$name"
  flock 9
  if [ ! -s "$target/.done" ]; then
    echo "crds: generating $name from $module@$version"
    work="$(mktemp -d)"
    (
      cd "$work"
      GOTOOLCHAIN="$(toolchain "$module")"
      export GOTOOLCHAIN
      go mod init homelab.k8s/crds >/dev/null 2>&1
      go get "$module@$version" >/dev/null
      paths=()
      for package in $packages; do paths+=("paths=$module/$package"); done
      rm -rf "$target" && mkdir -p "$target"
      "$gen" crd:crdVersions=v1,maxDescLen=0 "${paths[@]}" "output:crd:artifacts:config=$target"
    )
    rm -rf "$work"
    touch "$target/.done"
  fi
  exec 9>&-
  ln -sfn "$target" "$out/$name"
  echo "crds: $name $version in .cache/crds/$name ($(find "$target" -name '*.yaml' | wc -l) definitions)"
done <<<"$sets"
