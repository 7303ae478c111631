"""playbooks/upgrade.yml against the real control plane of the shared test cluster.

What runs for real: the checks before anything starts (version path, skew, the Helm releases
found in the cluster), `kubeadm upgrade plan` of the real kubeadm read as data, and the whole
upgrade path of the role in check mode. A real `kubeadm upgrade apply` needs a second Kubernetes
release built here and kubelets that run pods: see docs/lifecycle.md.
"""

import hashlib
import json
import subprocess

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from playbook_runner import REPO, ansible_playbook

pytestmark = pytest.mark.slow

STATIC_PODS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
NO_BACKUP = {"cluster_upgrade_backup_enabled": False}  # etcd_backup needs age keys: its own tests


def upgrade(cluster, version, *args, **extra_vars):
    extra = json.dumps({"kubernetes_version": version, **NO_BACKUP, **extra_vars})
    env = {"ANSIBLE_STDOUT_CALLBACK": "default"}
    return ansible_playbook(REPO / "playbooks" / "upgrade.yml", "-i", cluster.inventory, "-e", extra, *args, env=env)


def next_patch(version):
    major, minor, patch = version.lstrip("v").split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def next_minor(version, step=1):
    major, minor = version.lstrip("v").split(".")[:2]
    return f"{major}.{int(minor) + step}.0"


@pytest.fixture
def mirror_pods(cluster):
    """The mirror pods a kubelet creates for kubeadm's static pods: `kubeadm upgrade` finds the API
    server's address through them. The node agent of the harness runs the static pods but makes no
    mirror pods, so the test makes them from the manifests as the kubelet would, and removes them."""
    core = client.CoreV1Api(cluster.api())
    names = []
    for component in STATIC_PODS:
        text = cluster.control_plane.read(f"/etc/kubernetes/manifests/{component}.yaml")
        pod = yaml.safe_load(text)
        pod["metadata"]["name"] = f"{component}-k8s-master-01"
        pod["metadata"].setdefault("annotations", {})["kubernetes.io/config.mirror"] = hashlib.md5(
            text.encode(), usedforsecurity=False
        ).hexdigest()
        pod["spec"]["nodeName"] = "k8s-master-01"
        try:
            core.create_namespaced_pod("kube-system", pod)
            names.append(pod["metadata"]["name"])
        except ApiException as error:
            if error.status != 409:
                raise
    yield
    for name in names:
        core.delete_namespaced_pod(name, "kube-system", grace_period_seconds=0)


def fingerprint(host):
    return {c: host.read(f"/etc/kubernetes/manifests/{c}.yaml") for c in STATIC_PODS}


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (2, "is more than one minor version away. kubeadm upgrades one minor at a time: {0} -> {1} -> {2}"),
        (-1, "is a downgrade, which kubeadm does not do"),
    ],
    ids=["skip", "downgrade"],
)
def test_a_skipped_minor_and_a_downgrade_are_refused_before_anything(cluster, step, expected):
    current = cluster.version.lstrip("v")
    target = next_minor(current, step)
    minors = [".".join(next_minor(current, s).split(".")[:2]) for s in range(3)]
    run = upgrade(cluster, target)
    assert run.returncode != 0
    message = run.task("homelab.k8s.cluster_upgrade : Refuse a downgrade and a skipped minor version")
    assert f"The cluster runs {current}; {target} " + expected.format(*minors) in message, run.stdout[-3000:]
    if step == 2:
        assert f"newest patch release of {minors[1]} first" in message
    assert "kubeadm upgrade" not in run.stdout.split("Refuse a downgrade", 1)[1].split("PLAY RECAP")[0].replace(
        "kubeadm upgrades one minor", ""
    )
    assert run.recap("k8s-master-01")["changed"] == 0


def test_a_chart_not_known_to_work_with_the_target_stops_the_upgrade(cluster, tmp_path):
    """A Helm release found in the cluster (a minimal test chart named and versioned as the
    platform's gatekeeper release) whose compatibility limit is below the target."""
    chart = tmp_path / "gatekeeper"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: gatekeeper\nversion: 3.23.1\ndescription: test chart\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: compat-test\ndata:\n  chart: test\n"
    )
    helm = ["helm", "--kubeconfig", str(cluster.kubeconfig), "--namespace", "upgrade-compat-test"]
    subprocess.run([*helm, "install", "gatekeeper", str(chart), "--create-namespace"], check=True, capture_output=True)
    try:
        run = upgrade(cluster, next_minor(cluster.version))
    finally:
        subprocess.run([*helm, "uninstall", "gatekeeper"], check=False, capture_output=True)
        client.CoreV1Api(cluster.api()).delete_namespace("upgrade-compat-test")
    assert run.returncode != 0
    message = run.task("homelab.k8s.cluster_upgrade : Refuse components not known to work with the target version")
    minor = ".".join(next_minor(cluster.version).split(".")[:2])
    assert f"Not known to work with Kubernetes {minor}: gatekeeper 3.23.1 (tested up to Kubernetes 1.37)" in message, (
        run.stdout[-3000:]
    )
    assert "Back up etcd" not in run.stdout


def test_the_upgrade_path_in_check_mode_reads_the_real_kubeadm_plan(cluster, mirror_pods):
    before = fingerprint(cluster.control_plane)
    target = next_patch(cluster.version)

    run = upgrade(cluster, target, "--check")

    assert run.returncode == 0, run.stdout[-6000:]
    plan = run.task("homelab.k8s.cluster_upgrade : Report kubeadm's plan")
    current = cluster.version
    for row in (
        f"kube-apiserver {current} -> v{target} on k8s-master-01",
        f"kubelet {current} -> v{target} on k8s-master-01",
        f"kubelet {current} -> v{target} on k8s-worker-02",
        f"kubeadm {current} -> v{target}",
        "etcd ",
    ):
        assert row in plan, plan
    # Every step ran in order, for each node, and changed nothing.
    for task in (
        "Check kubeadm's plan",
        "Cordon the node and evict its pods, PodDisruptionBudgets respected",
        "Upgrade the control plane with kubeadm upgrade apply",
        "Upgrade the node's configuration with kubeadm upgrade node",
        "Make the node schedulable again",
    ):
        assert task in run.stdout
    assert "skipping: [k8s-master-01]" in run.task(
        "homelab.k8s.cluster_upgrade : Upgrade the control plane with kubeadm upgrade apply"
    )
    assert fingerprint(cluster.control_plane) == before
    nodes = client.CoreV1Api(cluster.api()).list_node().items
    assert not any(n.spec.unschedulable for n in nodes if n.metadata.name in ("k8s-master-01", "k8s-worker-02"))
