#!/usr/bin/env bash
# Package the upstream Helm charts that ship inside a Go module, at the version the platform role
# pins, into .cache/charts/<chart>-<version>.tgz (the tests serve them from a local chart
# repository and an OCI registry; the Helm repositories themselves are not reachable here).
#
# One line a chart: chart name, Go module, version (role:VAR takes the chart version of the
# platform role's release VAR), path of the chart in the module. The module comes from the Go
# module cache (`go mod download`, already there when the component that needs it was built),
# is packaged with the pinned helm, and is kept by version in the shared cache
# ($HOMELAB_COMPONENTS_CACHE/../charts, default ~/.cache/homelab-k8s/charts).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${HOMELAB_CHARTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab-k8s/charts}"
out="$root/.cache/charts"
helm="$root/.cache/bin/helm"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$cache" "$out"

# chart     module                                         version          path in the module
charts="
gatekeeper  github.com/open-policy-agent/gatekeeper/v3     role:gatekeeper  charts/gatekeeper
"

# release_version NAME: the pinned chart version of the platform role's release NAME.
release_version() {
  awk -v name="$1" '
    $0 ~ "^  - name: " name "$" { found = 1; next }
    found && /^  - name:/ { exit }
    found && /^    version:/ { print $2; exit }
  ' "$root/roles/platform/defaults/main.yml"
}

[ -x "$helm" ] || { echo "charts: $helm is missing: run scripts/components.sh helm" >&2; exit 1; }
while read -r chart module version path; do
  [ -n "${chart:-}" ] || continue
  [[ "$version" == role:* ]] && version="$(release_version "${version#role:}")"
  [ -n "$version" ] || { echo "charts: no pinned version of $chart in roles/platform/defaults/main.yml" >&2; exit 1; }
  target="$cache/$chart-$version.tgz"
  if [ ! -s "$target" ]; then
    work="$(mktemp -d)"
    (cd "$work" && go mod init charts.invalid >/dev/null 2>&1 && go mod download -json "$module@v${version#v}" >module.json)
    dir="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Dir"])' "$work/module.json")"
    cp -r "$dir/$path" "$work/chart" && chmod -R u+w "$work/chart"
    grep -q "^version: ${version#v}$" "$work/chart/Chart.yaml" \
      || { echo "charts: $module@$version/$path is not chart version $version" >&2; exit 1; }
    "$helm" package "$work/chart" --destination "$work" >/dev/null
    mv "$work/$chart-${version#v}.tgz" "$target.tmp" && mv "$target.tmp" "$target"
    rm -rf "$work"
  fi
  ln -sf "$target" "$out/$chart-$version.tgz"
  echo "charts: $chart $version ($module/$path)"
done <<<"$charts"
