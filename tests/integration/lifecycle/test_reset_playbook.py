"""playbooks/reset.yml, confirmed, on two plain test hosts (a worker and a control plane).

The hosts are the Debian 12 systemd test hosts of the cluster harness with the real kubeadm
mounted, but no cluster: each is given what a node leaves behind (kubeadm's files, CNI
configuration and state, Calico's network links) and what must survive a reset. kubeadm reset
runs for real on them. The reset removes what it should and nothing else, workers first, and a
second run finds nothing left to do. (Check mode is left out to keep the test cheap: every task
is a round trip over the podman connection.)
"""

import json

import cluster_harness
import pytest
import yaml
from playbook_runner import REPO, ansible_playbook

pytestmark = pytest.mark.slow

PREFIX = cluster_harness.ENV_PREFIX + "reset-"
CLUSTER = "reset-lab"
NODE_FILES = [
    "/etc/kubernetes/kubelet.conf",
    "/etc/kubernetes/manifests/etcd.yaml",
    "/etc/kubernetes/pki/ca.crt",
    "/etc/cni/net.d/10-calico.conflist",
    "/var/lib/cni/networks/k8s-pod-network/last_reserved_ip.0",
    "/var/lib/calico/nodename",
    "/var/log/calico/cni/cni.log",
    "/etc/kubernetes/kubeadm/init-state",
]
KEPT_FILES = ["/etc/kubernetes/keep.conf", "/var/lib/other/keep"]


def links(host):
    out = host.exec("ip", "-o", "link", "show").stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    cluster_harness.remove_hosts(PREFIX)
    hosts = {}
    try:
        for name in ("k8s-worker-01", "k8s-master-01"):
            host = hosts[name] = cluster_harness.TestHost(name, prefix=PREFIX)
            for path in NODE_FILES + KEPT_FILES:
                host.exec("sh", "-c", 'mkdir -p "$(dirname "$1")" && echo state > "$1"', "-", path)
            host.exec("ip", "link", "add", "cali0123abcd", "type", "veth", "peer", "name", "pod0")
            host.exec("ip", "link", "add", "vxlan.calico", "type", "bridge")
            host.exec("ip", "link", "add", "keep0", "type", "bridge")
        inventory = tmp_path_factory.mktemp("reset") / "hosts.yml"

        def entry(name):
            return {"ansible_connection": "containers.podman.podman", "ansible_host": hosts[name].name}

        inventory.write_text(
            yaml.safe_dump(
                {
                    "all": {
                        "vars": {"homelab_cluster_name": CLUSTER, "ansible_user": "root", "ansible_become": False},
                        "children": {
                            "k8s_workers": {"hosts": {"k8s-worker-01": entry("k8s-worker-01")}},
                            "k8s_control_plane": {"hosts": {"k8s-master-01": entry("k8s-master-01")}},
                        },
                    }
                }
            )
        )
        yield hosts, inventory
    finally:
        cluster_harness.remove_hosts(PREFIX)


def reset(inventory, *args):
    extra = json.dumps({"reset_confirm": CLUSTER})
    return ansible_playbook(
        REPO / "playbooks" / "reset.yml", "-i", inventory, "-e", extra, *args, env=cluster_harness.ENV
    )


def existing(host, paths):
    return [p for p in paths if host.exec("test", "-e", p, check=False).returncode == 0]


def test_reset_removes_the_node_state_workers_first_and_nothing_else(nodes):
    hosts, inventory = nodes

    for host in hosts.values():
        assert existing(host, NODE_FILES + KEPT_FILES) == NODE_FILES + KEPT_FILES
        assert {"cali0123abcd", "vxlan.calico", "keep0"} <= links(host)

    run = reset(inventory)
    assert run.returncode == 0, run.stdout[-4000:]
    workers, control_plane = run.stdout.index("PLAY [Reset the workers]"), run.stdout.index("PLAY [Reset the control")
    assert workers < control_plane
    assert run.stdout.count("changed: [k8s-worker-01]") and run.stdout.count("changed: [k8s-master-01]")
    for host in hosts.values():
        assert existing(host, NODE_FILES + KEPT_FILES) == KEPT_FILES, host.name
        remaining = links(host)
        assert "keep0" in remaining and not {"cali0123abcd", "vxlan.calico", "pod0"} & remaining, remaining

    again = reset(inventory)
    assert again.returncode == 0, again.stdout[-4000:]
    assert [again.recap(name)["changed"] for name in ("k8s-worker-01", "k8s-master-01")] == [0, 0], again.stdout[-4000:]
