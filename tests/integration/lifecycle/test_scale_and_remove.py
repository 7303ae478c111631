"""scale.yml and remove_node.yml on the shared test cluster, with a third test host of their own.

scale.yml joins the new host with the kubernetes role's real `kubeadm join` (the node agent of the
harness stands in for its kubelet), limited to that host; without the limit it leaves the nodes
that joined alone. remove_node.yml then refuses without its confirmation, and with it drains the
node, deletes the Node from the real API server, runs the real `kubeadm reset` on the host and
removes the CNI state, so the cluster is left as it was found.
"""

import json
import shutil

import cluster_harness
import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from playbook_runner import REPO, ansible_playbook

pytestmark = pytest.mark.slow

NEW = "k8s-worker-05"
CNI_STATE = ["/etc/cni/net.d/10-calico.conflist", "/var/lib/cni/networks/k8s-pod-network/10.244.1.2"]


@pytest.fixture(scope="module")
def new_worker(cluster, tmp_path_factory):
    base = tmp_path_factory.mktemp("scale")
    host = cluster_harness.TestHost(NEW, network="slirp4netns:allow_host_loopback=true", prefix=cluster.prefix)
    try:
        host.forward_api(cluster.port)
        host.install_node_agent(cluster.version)
        inventory = base / "inventory"
        shutil.copytree(cluster.inventory, inventory)
        hosts = yaml.safe_load((inventory / "hosts.yml").read_text())
        workers = hosts["all"]["children"]["k8s_cluster"]["children"]["k8s_workers"]["hosts"]
        workers[NEW] = {"ansible_connection": "containers.podman.podman", "ansible_host": host.name}
        (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
        yield host, inventory
    finally:
        host.remove()
        try:
            client.CoreV1Api(cluster.api()).delete_node(NEW)
        except ApiException as error:
            if error.status != 404:
                raise


def play(name, inventory, *args, **extra_vars):
    extra = ["-e", json.dumps(extra_vars)] if extra_vars else []
    env = {"ANSIBLE_STDOUT_CALLBACK": "default"}
    return ansible_playbook(REPO / "playbooks" / name, "-i", inventory, *extra, *args, env=env)


def node_names(cluster):
    return {n.metadata.name for n in client.CoreV1Api(cluster.api()).list_node().items}


def test_scale_joins_the_new_worker_only_and_remove_node_takes_it_out(cluster, new_worker):
    host, inventory = new_worker
    joined = play("scale.yml", inventory, "--limit", NEW, scale_roles=["kubernetes"])
    assert joined.returncode == 0, joined.stdout[-6000:]
    assert "TASK [homelab.k8s.kubernetes : Join the cluster]" in joined.stdout
    assert NEW in node_names(cluster)

    # Without the limit, every worker has joined: none is touched.
    again = play("scale.yml", inventory, scale_roles=["kubernetes"])
    assert again.returncode == 0, again.stdout[-4000:]
    for worker in ("k8s-worker-02", NEW):
        assert again.recap(worker)["changed"] == 0, again.stdout[-4000:]
    assert "homelab.k8s.kubernetes" not in again.stdout

    for path in CNI_STATE:  # what Calico leaves on a node
        host.exec("sh", "-c", f"mkdir -p $(dirname {path}) && echo x > {path}")

    refused = play("remove_node.yml", inventory, remove_node=NEW, remove_node_confirm="yes")
    assert refused.returncode != 0
    assert f"remove_node='{NEW}' must be a host of k8s_workers" in refused.stdout, refused.stdout[-3000:]
    assert "Nothing was changed" in refused.stdout
    assert NEW in node_names(cluster)

    removed = play("remove_node.yml", inventory, remove_node=NEW, remove_node_confirm=NEW)
    assert removed.returncode == 0, removed.stdout[-6000:]
    assert NEW not in node_names(cluster)
    assert {"k8s-master-01", "k8s-worker-02"} <= node_names(cluster)
    for path in ["/etc/kubernetes/kubelet.conf", "/etc/cni/net.d", "/var/lib/cni"]:
        assert host.exec("test", "-e", path, check=False).returncode != 0, path
    assert "TASK [homelab.k8s.cluster_upgrade : Run kubeadm reset]" in removed.stdout
