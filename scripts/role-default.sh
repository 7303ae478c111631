# shellcheck shell=bash
# Sourced by the setup scripts: role_default VAR prints the default of VAR in
# roles/*/defaults/main.yml as a Go module version (with its v), so that what the roles install
# on real nodes is what the tests build. Needs $root, the repository root.
role_default() {
  local line
  # shellcheck disable=SC2154  # root is set by the script that sources this file
  line="$(grep -h "^$1:" "$root"/roles/*/defaults/main.yml | head -n 1)"
  [ -n "$line" ] || { echo "role_default: no default for $1 in roles/*/defaults/main.yml" >&2; return 1; }
  line="${line#*:}"
  line="${line//[\"\' ]/}"
  [[ "$line" == v* ]] || line="v$line"
  echo "$line"
}
