#!/usr/bin/env bash
# Build the Go components of the cluster and of the test harness from the Go module proxy, at
# the versions pinned in scripts/components.txt, and link them into .cache/bin.
#
# Binaries are kept per name, version and recipe (a hash of the table line) in a cache shared
# by every checkout on this machine ($HOMELAB_COMPONENTS_CACHE, default
# ~/.cache/homelab-k8s/components), so a fresh clone costs seconds; a binary is built only when
# its pinned version or the way it is built changed.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the k8s.io staging modules with
# directories of its own repository. As Kubernetes documents for using it as a module, a
# throwaway module requires k8s.io/kubernetes and replaces each staging module with its
# published v0.<minor>.<patch> tag; its commands are built there together (they share most
# packages), with the version variables that `make` would set (kubeadm reads gitVersion).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
table="$root/scripts/components.txt"
cache="${HOMELAB_COMPONENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab-k8s/components}"
bin="$root/.cache/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
mkdir -p "$bin" "$cache"

command -v go >/dev/null || { echo "components: the go command is needed (Go 1.26 or newer)" >&2; exit 1; }

# lock UNIT: several checkouts share the cache; one build of a unit at a time, and a second
# one finds the binary built by the first.
lock() {
  exec 9>"$cache/.lock-$1"
  flock 9
}

# role_default VAR: the default of VAR in roles/*/defaults/main.yml, as a Go module version.
# shellcheck source=scripts/role-default.sh
source "$root/scripts/role-default.sh"

# build_kubernetes VERSION NAME...: the k8s.io/kubernetes commands NAME at VERSION, into the
# cache directories keys[NAME].
build_kubernetes() {
  local version="$1"; shift
  local src="$cache/src/kubernetes-$version" gomod staging minor major pkgs=() name
  staging="v0.${version#v1.}"
  major=1 minor="${version#v1.}"; minor="${minor%%.*}"
  mkdir -p "$src"
  gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  {
    echo "module homelab.k8s/components"
    echo
    grep -m1 '^go ' "$gomod"
    echo
    echo "require k8s.io/kubernetes $version"
    echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$gomod" | awk -v v="$staging" '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$src/go.mod"
  {
    echo "//go:build tools"
    echo
    echo "package components"
    echo
    echo "import ("
    for name in "$@"; do echo "	_ \"k8s.io/kubernetes/cmd/$name\""; pkgs+=("k8s.io/kubernetes/cmd/$name"); done
    echo ")"
  } >"$src/tools.go"
  (cd "$src" && go mod tidy >"$src/tidy.log" 2>&1) || { cat "$src/tidy.log" >&2; exit 1; }
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  local out="$src/bin"
  rm -rf "$out" && mkdir -p "$out"
  (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}")
  for name in "$@"; do
    mkdir -p "$cache/$name/${keys[$name]}"
    mv "$out/$name" "$cache/$name/${keys[$name]}/$name"
  done
}

# build_module NAME VERSION PACKAGE LDFLAGS: PACKAGE at VERSION, named NAME, into the cache
# directory keys[NAME] ({version} and {semver} in LDFLAGS: the version with and without v). It is built in a
# throwaway module that requires it (`go install pkg@version` refuses modules whose go.mod has
# replace directives, as etcd's have; a dependency's replace directives do not apply there).
build_module() {
  local name="$1" version="$2" package="$3" ldflags="${4//\{version\}/$2}"
  ldflags="${ldflags//\{semver\}/${2#v}}"
  local src="$cache/src/$name-$version"
  rm -rf "$src" && mkdir -p "$src"
  (
    cd "$src"
    go mod init homelab.k8s/components >/dev/null 2>&1
    go get "$package@$version" >"$src/get.log" 2>&1 || { cat "$src/get.log" >&2; exit 1; }
    go build -trimpath -ldflags "-s -w $ldflags" -o "$src/$name" "$package"
  )
  mkdir -p "$cache/$name/${keys[$name]}"
  mv "$src/$name" "$cache/$name/${keys[$name]}/$name"
}

wanted=" $* "
declare -A kubernetes=()  # version -> names still to build
declare -A keys=()  # name -> cache directory: <version>-<hash of the table line's recipe>
entries=()
while read -r name version package ldflags; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  [ "$#" -eq 0 ] || [[ "$wanted" == *" $name "* ]] || continue
  if [[ "$version" == role:* ]]; then version="$(role_default "${version#role:}")" || exit 1; fi
  keys[$name]="$version-$(printf '%s %s' "$package" "${ldflags:-}" | sha256sum | cut -c1-8)"
  entries+=("$name")
  [ -x "$cache/$name/${keys[$name]}/$name" ] && continue
  case "$package" in
    k8s.io/kubernetes/cmd/*) kubernetes[$version]+=" $name" ;;
    *)
      lock "$name"
      if [ ! -x "$cache/$name/${keys[$name]}/$name" ]; then
        start=$SECONDS
        echo "building $name $version"
        build_module "$name" "$version" "$package" "${ldflags:-}"
        echo "built $name $version in $((SECONDS - start))s"
      fi
      ;;
  esac
done <"$table"

for version in "${!kubernetes[@]}"; do
  read -r -a names <<<"${kubernetes[$version]}"
  lock "kubernetes-$version"
  missing=()
  for name in "${names[@]}"; do [ -x "$cache/$name/${keys[$name]}/$name" ] || missing+=("$name"); done
  [ "${#missing[@]}" -gt 0 ] || continue
  start=$SECONDS
  echo "building ${missing[*]} $version"
  build_kubernetes "$version" "${missing[@]}"
  echo "built ${missing[*]} $version in $((SECONDS - start))s"
done

for name in "${entries[@]}"; do
  ln -sfn "$cache/$name/${keys[$name]}/$name" "$bin/$name"
done
echo "components in .cache/bin: ${#entries[@]} (cache $cache)"
