"""playbooks/validate_inventory.yml accepts the shipped inventories and refuses bad ones,
naming the bad value, before any host is touched."""

from pathlib import Path

import pytest
import yaml
from playbook_runner import ansible_playbook

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "validate_inventory.yml"


def run_playbook(inventory):
    return ansible_playbook(PLAYBOOK, "-i", inventory)


def write_inventory(tmp_path, cluster_vars, workers=None):
    workers = {"k8s-worker-01": {"k8s_node_role": "general"}} if workers is None else workers
    hosts = {
        "all": {
            "children": {
                "k8s_cluster": {
                    "children": {
                        "k8s_control_plane": {"hosts": {"k8s-master-01": None}},
                        "k8s_workers": {"hosts": workers},
                    }
                }
            }
        }
    }
    good = {
        "homelab_node_cidr": "192.168.1.0/24",
        "homelab_pod_cidr": "10.244.0.0/16",
        "homelab_service_cidr": "10.96.0.0/16",
        "homelab_admin_cidrs": ["192.168.1.0/24"],
    }
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump({**good, **cluster_vars}))
    return tmp_path


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_shipped_inventories_pass(environment):
    result = run_playbook(REPO / "inventories" / environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failed=0" in result.stdout


@pytest.mark.parametrize(
    ("cluster_vars", "workers", "expected"),
    [
        ({"homelab_pod_cidr": "10.244.0.0/33"}, None, "homelab_pod_cidr is '10.244.0.0/33'"),
        ({"homelab_service_cidr": "10.96.0.1/16"}, None, "homelab_service_cidr is '10.96.0.1/16'"),
        ({"homelab_node_cidr": "not-a-network"}, None, "homelab_node_cidr is 'not-a-network'"),
        ({"homelab_service_cidr": "10.244.128.0/20"}, None, "overlaps homelab_service_cidr (10.244.128.0/20)"),
        ({"homelab_admin_cidrs": ["192.168.1.0/24", "300.1.1.0/24"]}, None, "not valid: ['300.1.1.0/24']"),
        ({"homelab_admin_cidrs": "192.168.1.0/24"}, None, "homelab_admin_cidrs must be a list"),
        ({}, {"k8s-worker-01": {"k8s_node_role": "gpu"}}, "k8s-worker-01: k8s_node_role is 'gpu'"),
        ({}, {}, "k8s_workers=[]"),
    ],
)
def test_bad_inventory_is_refused_with_the_value(tmp_path, cluster_vars, workers, expected):
    result = run_playbook(write_inventory(tmp_path, cluster_vars, workers))
    assert result.returncode != 0
    assert expected in result.stdout, result.stdout


def test_node_role_added_through_the_option_passes(tmp_path):
    """A node role added to homelab_node_roles (the documented option) is accepted: the check
    and the kubernetes role read the same list."""
    gpu = {"labels": {"homelab.k8s/role": "gpu"}, "taints": []}
    inventory = write_inventory(
        tmp_path,
        {"homelab_node_roles": {"general": {"labels": {}, "taints": []}, "gpu": gpu}},
        {"k8s-worker-01": {"k8s_node_role": "gpu"}},
    )
    result = run_playbook(inventory)
    assert result.returncode == 0, result.stdout + result.stderr


def test_good_generated_inventory_passes(tmp_path):
    """The generator itself makes a valid inventory, so the refusals above are about their one change."""
    result = run_playbook(write_inventory(tmp_path, {}))
    assert result.returncode == 0, result.stdout + result.stderr
