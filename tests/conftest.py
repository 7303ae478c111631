"""Make `ansible_collections.homelab.k8s` importable for the tests.

`make setup` (scripts/collections.sh) links this repository as
.cache/collections/ansible_collections/homelab/k8s beside the collections it depends on.
"""

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_PATH = REPO_ROOT / ".cache" / "collections"

if not (COLLECTIONS_PATH / "ansible_collections" / "homelab" / "k8s").exists():
    raise RuntimeError(f"{COLLECTIONS_PATH} is not set up: run `make setup` first")

sys.path.insert(0, str(COLLECTIONS_PATH))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_PATH))


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """The shared real control plane (tests/cluster_harness.py): a control plane and a worker set
    up by the kubernetes role. Its first init fails (the test hosts have no kubelet yet), the next
    run resets what that init left, initialises the cluster and joins the worker. Tests may add
    objects to it; tests that change the cluster itself use `dedicated_cluster`."""
    from cluster_harness import Cluster, remove_hosts

    remove_hosts()
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.failed_init = cluster.run_role("--limit", "k8s_control_plane")
        for host in cluster.hosts:
            host.install_node_agent(cluster.version)
        cluster.first_run = cluster.run_role()
        assert cluster.first_run.returncode == 0, (
            cluster.first_run.stdout[-8000:] + cluster.first_run.stderr[-2000:] + cluster.logs()
        )
        cluster.wait_ready()
        yield cluster
    finally:
        remove_hosts()
