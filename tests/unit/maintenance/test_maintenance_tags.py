"""playbooks/maintenance.yml runs each part under its own tag; the disruptive parts (patching, key
rotation, Kubernetes upgrade) only when their tag is asked for. The playbook runs for real on a
control-plane host that is this machine (connection local), with the parts that need a cluster
skipped: what is judged is which tasks run and which are skipped."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
NEEDS_A_CLUSTER = "etcd_backup,certificates,cis_drift"
INVENTORY = """all:
  children:
    k8s_cluster:
      children:
        k8s_control_plane: {hosts: {k8s-master-01: {ansible_connection: local}}}
"""


def run(tmp_path, *args):
    """Each task's name and its result on the host (ok, changed, skipping, fatal)."""
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".cache" / "collections"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(tmp_path / "hosts.yml")]
    argv += ["playbooks/maintenance.yml", "-e", f"maintenance_state_dir={tmp_path / 'state'}"]
    argv += ["-e", f"maintenance_report_dir={tmp_path / 'reports'}", *args]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    results, task = {}, None
    for line in done.stdout.splitlines():
        header = re.match(r"TASK \[(.*)\] \*+", line)
        if header:
            task = header.group(1)
        elif task and (status := re.match(r"(ok|changed|skipping|fatal): \[", line)):
            results.setdefault(task, status.group(1))
    return done, results


def test_a_run_without_a_disruptive_tag_skips_every_disruptive_task(tmp_path):
    done, results = run(tmp_path, "--skip-tags", NEEDS_A_CLUSTER)
    assert done.returncode == 0, done.stdout[-3000:]
    assert results["Take the lock"] == "ok" and results["Release the lock"] in ("ok", "changed")
    upgrade = {task: status for task, status in results.items() if "cluster_upgrade" in task or "etcd_backup" in task}
    assert upgrade, "the upgrade plays were not reached"
    assert set(upgrade.values()) == {"skipping"}, upgrade
    assert not any(task.startswith(("homelab.k8s.os_patching", "homelab.k8s.secret_rotation")) for task in results)


def test_the_upgrade_runs_when_its_tag_is_asked_for(tmp_path):
    _done, results = run(tmp_path, "--tags", "upgrade_preflight")
    preflight = next(task for task in results if task.startswith("homelab.k8s.cluster_upgrade : Validating arguments"))
    assert results[preflight] == "ok"
    assert results["Take the lock"] == "ok"
