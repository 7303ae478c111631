"""reset.yml and remove_node.yml refuse to start without their confirmation variable, before any
host is contacted (the seed inventory's hosts do not exist here)."""

import json

import pytest
from playbook_runner import REPO, ansible_playbook

SEED = REPO / "inventories" / "production"


def play(name, **extra_vars):
    return ansible_playbook(REPO / "playbooks" / name, "-i", SEED, "-e", json.dumps(extra_vars))


@pytest.mark.parametrize("confirm", [{}, {"reset_confirm": "yes"}], ids=["missing", "wrong"])
def test_reset_needs_the_cluster_name(confirm):
    run = play("reset.yml", **confirm)
    assert run.returncode != 0
    assert "playbooks/reset.yml deletes the cluster homelab-production" in run.stdout, run.stdout[-3000:]
    assert "set reset_confirm=homelab-production to go on" in run.stdout
    assert "Reset kubeadm and clean the CNI state" not in run.stdout


@pytest.mark.parametrize(
    "extra",
    [{"remove_node": "k8s-worker-03"}, {"remove_node": "k8s-master-01", "remove_node_confirm": "k8s-master-01"}],
    ids=["unconfirmed", "control-plane"],
)
def test_remove_node_needs_a_confirmed_worker(extra):
    run = play("remove_node.yml", **extra)
    assert run.returncode != 0
    assert f"remove_node='{extra['remove_node']}' must be a host of k8s_workers" in run.stdout, run.stdout[-3000:]
    assert "Nothing was changed" in run.stdout
    assert "Drain the node" not in run.stdout
