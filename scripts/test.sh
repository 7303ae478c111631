#!/usr/bin/env bash
# Run every test layer and end with one line "N passed, N failed".
# Usage: scripts/test.sh [layer ...]   (default: all layers, in this order)
#   ruff yamllint ansible-lint changelog sanity pytest build molecule
# SCENARIOS="a b" limits the molecule layer to those scenarios.
# Every pytest test counts as one; every other layer (and every molecule scenario) as one.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 1
export PATH="$root/.cache/bin:$root/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$root/.cache/collections"
export CONTAINERS_CONF="$root/tests/podman/containers.conf"
logs="$root/tests/output/logs"
rm -rf "$logs" && mkdir -p "$logs"

all_layers=(ruff yamllint ansible-lint changelog sanity pytest build molecule)
if [ "$#" -gt 0 ]; then layers=("$@"); else layers=("${all_layers[@]}"); fi
passed=0
failed=0
summary=()

# run NAME CMD...: one check; its output goes to tests/output/logs/NAME.log
run() {
  local name="$1"; shift
  local start=$SECONDS rc
  printf '%-34s ' "$name"
  "$@" >"$logs/$name.log" 2>&1
  rc=$?
  local took=$((SECONDS - start))
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "ok      ${took}s"
  else
    failed=$((failed + 1)); echo "FAILED  ${took}s  (exit $rc, log: tests/output/logs/$name.log)"
    tail -n 40 "$logs/$name.log" | sed 's/^/    | /'
  fi
  summary+=("$name ${took}s rc=$rc")
  return "$rc"
}

layer_pytest() {
  local start=$SECONDS junit="$root/tests/output/pytest.xml"
  printf '%-34s ' "pytest"
  rm -f "$junit"  # a crash must not count an earlier run's report
  python -m pytest -q -p no:cacheprovider --junitxml="$junit" >"$logs/pytest.log" 2>&1
  local rc=$?
  read -r p f < <(python "$root/scripts/junit_counts.py" "$junit")
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi  # collection error, no tests
  echo "$p passed, $f failed  $((SECONDS - start))s"
  [ "$rc" -eq 0 ] || tail -n 60 "$logs/pytest.log" | sed 's/^/    | /'
  summary+=("pytest $((SECONDS - start))s rc=$rc")
}

# Test hosts of a molecule scenario are named <scenario>-<platform>. Remove leftovers of
# an interrupted run before and after, so a rerun never meets "name already in use".
remove_test_hosts() {
  local pattern names
  pattern="^($(IFS='|'; echo "$*"))-debian[0-9]+$"
  mapfile -t names < <(podman ps -a --format '{{.Names}}' 2>/dev/null | grep -E "$pattern" || true)
  [ "${#names[@]}" -eq 0 ] || podman rm -f -t 5 "${names[@]}" >/dev/null 2>&1 || true
}

layer_molecule() {
  local scenarios
  if [ -n "${SCENARIOS:-}" ]; then
    read -r -a scenarios <<<"$SCENARIOS"
  else
    mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -rn1 basename | sort)
  fi
  if [ "${#scenarios[@]}" -eq 0 ]; then
    echo "molecule: no scenario found"; failed=$((failed + 1)); return
  fi
  remove_test_hosts "${scenarios[@]}"
  # shellcheck disable=SC2064 # the list is fixed now
  trap "remove_test_hosts ${scenarios[*]}" EXIT
  for s in "${scenarios[@]}"; do
    run "molecule-$s" molecule test -s "$s"
  done
}

for layer in "${layers[@]}"; do
  case "$layer" in
    ruff) run ruff bash -c 'ruff check . && ruff format --check .' ;;
    yamllint) run yamllint yamllint --strict . ;;
    ansible-lint) run ansible-lint ansible-lint --profile production --strict ;;
    changelog) run changelog antsibull-changelog lint ;;
    sanity) run sanity scripts/sanity.sh ;;
    pytest) layer_pytest ;;
    build) run build scripts/build-check.sh ;;
    molecule) layer_molecule ;;
    *) echo "unknown layer '$layer' (expected one of: ${all_layers[*]})" >&2; exit 2 ;;
  esac
done

printf '%s\n' "${summary[@]}" >"$root/tests/output/timings.txt"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
