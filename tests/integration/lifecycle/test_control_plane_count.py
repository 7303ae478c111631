"""A second control-plane host is refused with a clear message, before anything changes."""

import json
import sys
from pathlib import Path

import pytest
from playbook_runner import ansible_playbook

HERE = Path(__file__).resolve().parent
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def run(tmp_path, control_planes, workers):
    groups = {
        "k8s_control_plane": {"hosts": dict.fromkeys(control_planes, LOCAL)},
        "k8s_workers": {"hosts": dict.fromkeys(workers, LOCAL)},
    }
    inventory = {"all": {"children": {"k8s_cluster": {"children": groups}}}}
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))
    # The group names as the production inventory sets them.
    names = ["-e", "kubernetes_control_plane_group=k8s_control_plane", "-e", "kubernetes_worker_group=k8s_workers"]
    return ansible_playbook(HERE / "control_plane_count.yml", "-i", path, *names)


@pytest.mark.parametrize("count", [2, 3])
def test_more_than_one_control_plane_is_refused(tmp_path, count):
    masters = [f"k8s-master-0{i}" for i in range(1, count + 1)]
    done = run(tmp_path, masters, ["k8s-worker-01"])
    assert done.returncode != 0
    assert f"k8s_control_plane has {count} hosts ({', '.join(masters)})" in done.stdout, done.stdout[-3000:]
    assert "kubeadm join --control-plane" in done.stdout
    assert "docs/lifecycle.md" in done.stdout


def test_one_control_plane_passes(tmp_path):
    done = run(tmp_path, ["k8s-master-01"], ["k8s-worker-01", "k8s-worker-02"])
    assert done.returncode == 0, done.stdout[-3000:]
