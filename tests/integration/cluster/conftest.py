"""The real control plane of the cluster tests, set up once per session (cluster_harness.py)."""

import pytest
from cluster_harness import Cluster, remove_hosts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A control plane and a worker set up by the kubernetes role: its first init fails (the test
    hosts have no kubelet yet), the next run resets what that init left, initialises the cluster
    and joins the worker."""
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
