#!/usr/bin/env bash
# The local lab: the seed topology as four unprivileged systemd containers, reached
# over the podman connection, and playbooks/site.yml run against them.
#   scripts/lab.sh up     start (or reuse) the hosts, write inventories/lab/hosts.yml, run site.yml
#   scripts/lab.sh down   remove the hosts and the generated inventory
# LAB_IMAGE picks the image (default: Debian 12).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$root/.cache/collections"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/tests/podman/containers.conf}"
image="${LAB_IMAGE:-localhost/homelab-debian12:latest}"
control_plane=(k8s-master-01)
workers=(k8s-worker-01 k8s-worker-02 k8s-worker-03)
declare -A node_role=([k8s-worker-01]=general [k8s-worker-02]=ci-registry [k8s-worker-03]=security-monitoring)
inventory="$root/inventories/lab/hosts.yml"
out="$root/tests/output/lab"

start_host() {
  local name="$1" state
  state="$(podman container inspect --format '{{ .State.Status }}' "$name" 2>/dev/null || echo absent)"
  case "$state" in
    running) return 0 ;;
    absent)
      podman run --detach --name "$name" --hostname "$name" \
        --label homelab.lab=1 --systemd=always --network slirp4netns \
        --cap-add NET_ADMIN "$image" /sbin/init >/dev/null ;;
    *) podman start "$name" >/dev/null ;;
  esac
}

wait_for_systemd() {
  local name="$1" state
  for _ in $(seq 1 60); do
    state="$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)"
    case "$state" in running|degraded) return 0 ;; esac
    sleep 0.5
  done
  echo "$name: systemd did not finish booting (state: ${state:-unknown})" >&2
  return 1
}

write_inventory() {
  {
    echo "---"
    echo "# Written by scripts/lab.sh: the lab's containers. Settings are in group_vars/."
    echo "all:"
    echo "  children:"
    echo "    k8s_cluster:"
    echo "      children:"
    echo "        k8s_control_plane:"
    echo "          hosts:"
    for h in "${control_plane[@]}"; do echo "            $h:"; done
    echo "        k8s_workers:"
    echo "          hosts:"
    for h in "${workers[@]}"; do
      echo "            $h:"
      echo "              k8s_node_role: ${node_role[$h]}"
    done
  } >"$inventory"
}

up() {
  "$root/scripts/build-images.sh" >/dev/null
  "$root/scripts/containerd-release.sh" "$root/.cache/containerd-release" >/dev/null
  for h in "${control_plane[@]}" "${workers[@]}"; do start_host "$h"; done
  for h in "${control_plane[@]}" "${workers[@]}"; do wait_for_systemd "$h"; done
  write_inventory
  mkdir -p "$out"
  local run=1
  while [ -e "$out/site-$run.jsonl" ]; do run=$((run + 1)); done
  echo "lab: $(( ${#control_plane[@]} + ${#workers[@]} )) hosts up; running playbooks/site.yml (run $run, log tests/output/lab/site-$run.jsonl)"
  local rc=0
  ANSIBLE_STDOUT_CALLBACK=ansible.posix.jsonl ANSIBLE_FORCE_COLOR=0 \
    ansible-playbook -i "$root/inventories/lab" "$root/playbooks/site.yml" >"$out/site-$run.jsonl" 2>"$out/site-$run.stderr" || rc=$?
  python "$root/scripts/lab_summary.py" "$out/site-$run.jsonl" || rc=$((rc == 0 ? 1 : rc))
  return "$rc"
}

down() {
  local ids
  ids="$(podman ps -aq --filter label=homelab.lab=1)"
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id a word
    podman rm -f -t 5 $ids >/dev/null
  fi
  rm -f "$inventory"
  echo "lab removed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
