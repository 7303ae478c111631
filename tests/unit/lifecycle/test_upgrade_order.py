"""docs/lifecycle.md shows the order of operations of an upgrade exactly as playbooks/upgrade.yml
runs it: the block between the `upgrade-order` markers is rendered here from
`ansible-playbook --list-tasks` on the seed inventory and must match. To refresh it:
`python tests/unit/lifecycle/test_upgrade_order.py` prints the block.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "lifecycle.md"
START, END = "<!-- upgrade-order:start -->", "<!-- upgrade-order:end -->"
# Roles whose tasks are shown one by one; the others (another role's package or backup steps)
# are shown as one step naming the role.
DETAILED = {"cluster_upgrade", "node_drain"}
# Dependencies that only load shared defaults and facts.
HIDDEN = {"homelab"}


def list_tasks():
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".cache" / "collections"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    ansible = str(Path(sys.executable).with_name("ansible-playbook"))
    argv = [ansible, "--list-tasks", "-i", "inventories/production", "playbooks/upgrade.yml"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return done.stdout


def render(listing=None):
    listing = listing or list_tasks()
    lines, play, last = [], 0, None
    for raw in listing.splitlines():
        header = re.match(r"\s+play #\d+ \(([^)]*)\): (.*?)\tTAGS", raw)
        if header:
            play += 1
            lines.append(f"{play}. **{header.group(2)}** (`{header.group(1)}`)")
            last = None
            continue
        task = re.match(r"\s{6}(?:homelab\.k8s\.(\w+) : )?(.*?)\tTAGS", raw)
        if not task or task.group(2).startswith("Validating arguments against arg spec"):
            continue
        role, name = task.group(1), task.group(2)
        if role in HIDDEN:
            continue
        step = f"   - {name}" if role in DETAILED or role is None else f"   - the `{role}` role's tasks"
        if step != last:
            lines.append(step)
        last = step
    return "\n".join(lines)


def documented():
    text = DOC.read_text(encoding="utf-8")
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def test_the_documented_upgrade_order_is_the_playbooks():
    expected = render()
    assert documented() == expected, "docs/lifecycle.md is out of date; the order is:\n" + expected


def test_the_order_puts_every_check_before_any_change():
    order = render().splitlines()
    position = {line.strip(): i for i, line in reversed(list(enumerate(order)))}
    assert position["- Refuse a downgrade and a skipped minor version"] < position["- the `etcd_backup` role's tasks"]
    assert (
        position["- Refuse components not known to work with the target version"]
        < position["- the `etcd_backup` role's tasks"]
    )
    assert (
        position["- the `etcd_backup` role's tasks"]
        < position["- Upgrade the control plane with kubeadm upgrade apply"]
    )
    assert (
        position["- Check kubeadm's plan"]
        < position["- Cordon the node and evict its pods, PodDisruptionBudgets respected"]
        < position["- Upgrade the control plane with kubeadm upgrade apply"]
        < position["- Restart the kubelet"]
        < position["- Make the node schedulable again"]
    )


if __name__ == "__main__":
    print(render())
