"""Maintenance that changes the cluster itself, on a dedicated cluster, in sequence: an etcd
restore (playbooks/etcd_restore.yml), then certificate renewal, then the rotation of the
encryption-at-rest key.
"""

import datetime
import json
import ssl
import time
from pathlib import Path

import pytest
import yaml
from backup_tools import VERIFY_TOOLS
from cluster_harness import ENV, ETCD_TLS, WORKER, dedicated_cluster
from cryptography import x509
from kubernetes import client
from playbook_runner import ansible_playbook

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
NAMESPACE = "maintenance-lifecycle"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with dedicated_cluster(tmp_path_factory.mktemp("lifecycle"), "maint") as cluster:
        yield cluster


def run(cluster, playbook, settings, tmp_path, *args):
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(settings))
    return ansible_playbook(
        playbook, "-i", cluster.inventory, "-e", f"@{path}", *args, env={**ENV, "ANSIBLE_STDOUT_CALLBACK": "default"}
    )


def config_map(api, name):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"name": name})
    client.CoreV1Api(api).create_namespaced_config_map(NAMESPACE, body)


def config_map_names(api):
    return sorted(c.metadata.name for c in client.CoreV1Api(api).list_namespaced_config_map(NAMESPACE).items)


def test_restore_needs_the_confirmation_and_brings_the_backup_back(lab, age_identity, tmp_path):
    api = lab.api()
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    config_map(api, "before-backup")
    identity, public = age_identity
    settings = {
        "etcd_backup_age_recipients": [public],
        "etcd_backup_identity_file": str(identity),
        "etcd_backup_local_dir": str(tmp_path / "backups"),
        **VERIFY_TOOLS,
        "etcd_backup_test_result_file": str(tmp_path / "result.json"),
    }
    backup = run(lab, HERE / "etcd_backup.yml", settings, tmp_path)
    assert backup.returncode == 0, backup.stdout[-6000:]
    result = json.loads((tmp_path / "result.json").read_text())
    config_map(api, "after-backup")

    refused = run(lab, REPO / "playbooks" / "etcd_restore.yml", settings, tmp_path)
    assert refused.returncode != 0
    assert "set etcd_backup_restore_confirm=true (got false) to go on" in refused.stdout
    assert "Move the manifests aside" not in refused.stdout
    assert config_map_names(api) == ["after-backup", "before-backup", "kube-root-ca.crt"]

    confirmed = {**settings, "etcd_backup_restore_confirm": True}
    restored = run(lab, REPO / "playbooks" / "etcd_restore.yml", confirmed, tmp_path)
    assert restored.returncode == 0, restored.stdout[-6000:]
    assert f"etcd restored from {Path(result['path']).name} (revision {result['revision']})" in restored.stdout
    lab.wait_ready()
    api = lab.api()
    assert config_map_names(api) == ["before-backup", "kube-root-ca.crt"]
    kept = lab.control_plane.exec("sh", "-c", "ls -d /var/lib/etcd.before-restore-*").stdout.split()
    assert len(kept) == 1
    assert lab.control_plane.exec("ls", "-A", "/var/backups/etcd").stdout == ""
    assert lab.control_plane.exec("ls", "/etc/kubernetes/manifests").stdout.split() == [
        "etcd.yaml",
        "kube-apiserver.yaml",
        "kube-controller-manager.yaml",
        "kube-scheduler.yaml",
    ]


def expiry(lab):
    """kubeadm's report of the certificates on the control plane: {name: residual days}."""
    out = lab.control_plane.exec("kubeadm", "certs", "check-expiration", "-o", "json").stdout
    return {c["name"]: c["residualTime"] / 86400 for c in json.loads(out)["certificates"]}


def served_not_after(lab):
    pem = ssl.get_server_certificate(("127.0.0.1", lab.port))
    return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc


def test_certificates_close_to_expiry_are_renewed_and_served(lab, tmp_path):
    lab.wait_ready()
    # Every certificate re-issued by kubeadm itself with a validity of two days: the cluster's own
    # ClusterConfiguration with certificateValidityPeriod 48h.
    config = client.CoreV1Api(lab.api()).read_namespaced_config_map("kubeadm-config", "kube-system")
    short = yaml.safe_load(config.data["ClusterConfiguration"]) | {"certificateValidityPeriod": "48h"}
    lab.control_plane.exec("tee", "/root/short-validity.yaml", input_text=yaml.safe_dump(short))
    lab.control_plane.exec("kubeadm", "certs", "renew", "all", "--config", "/root/short-validity.yaml")
    assert max(expiry(lab).values()) < 2
    kubeconfig_before = lab.kubeconfig.read_text()

    renewed = run(lab, HERE / "cert_renewal.yml", {"cert_renewal_threshold_days": 30}, tmp_path)
    assert renewed.returncode == 0, renewed.stdout[-6000:]
    assert "Renew the certificates" in renewed.stdout
    assert min(expiry(lab).values()) > 360
    assert served_not_after(lab) > datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=360)
    assert lab.kubeconfig.read_text() != kubeconfig_before
    client.CoreV1Api(lab.api()).read_namespace("kube-system")  # the refreshed kubeconfig works
    assert "BEGIN RSA PRIVATE KEY" not in renewed.output and "client-key-data" not in renewed.output

    again = run(lab, HERE / "cert_renewal.yml", {"cert_renewal_threshold_days": 30}, tmp_path)
    assert again.returncode == 0, again.stdout[-6000:]
    assert again.recap("k8s-master-01")["changed"] == 0
    assert "0 certificates within 30 days of expiry" in again.stdout


def test_bad_threshold_is_refused(lab, tmp_path):
    refused = run(lab, HERE / "cert_renewal.yml", {"cert_renewal_threshold_days": 400}, tmp_path)
    assert refused.returncode != 0
    assert "cert_renewal_threshold_days must be a whole number of days from 1 to 364 (got 400)" in refused.stdout


def test_encryption_key_rotation_rewrites_every_secret(lab, tmp_path):
    lab.wait_ready()
    core = client.CoreV1Api(lab.api())
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="rotation-probe"), string_data={"token": "probe-value"})
    core.create_namespaced_secret(NAMESPACE, body)
    key = f"/registry/secrets/{NAMESPACE}/rotation-probe"
    assert lab.control_plane.etcd_value(key).startswith(b"k8s:enc:secretbox:v1:homelab-1:")
    before = yaml.safe_load(lab.control_plane.read("/etc/kubernetes/apiserver/encryption.yaml"))
    old_secret = before["resources"][0]["providers"][0]["secretbox"]["keys"][0]["secret"]

    rotated = run(lab, HERE / "secret_rotation.yml", {}, tmp_path)
    assert rotated.returncode == 0, rotated.stdout[-6000:]
    assert "Secrets encrypted with secretbox key homelab-2; keys removed: homelab-1" in rotated.stdout

    after = yaml.safe_load(lab.control_plane.read("/etc/kubernetes/apiserver/encryption.yaml"))
    providers = after["resources"][0]["providers"]
    assert [list(p) for p in providers] == [["secretbox"], ["identity"]]
    assert [k["name"] for k in providers[0]["secretbox"]["keys"]] == ["homelab-2"]
    new_secret = providers[0]["secretbox"]["keys"][0]["secret"]
    assert old_secret not in lab.control_plane.read("/etc/kubernetes/apiserver/encryption.yaml")
    assert old_secret not in rotated.output and new_secret not in rotated.output
    # Every Secret, raw in etcd, carries the new key's prefix; each still reads through the API.
    keys = lab.control_plane.exec(
        "etcdctl",
        "--endpoints=https://127.0.0.1:2379",
        *ETCD_TLS,
        "get",
        "/registry/secrets/",
        "--prefix",
        "--keys-only",
    ).stdout.split()
    assert key in keys
    for name in keys:
        assert lab.control_plane.etcd_value(name).startswith(b"k8s:enc:secretbox:v1:homelab-2:"), name
    lab.wait_ready()
    secret = client.CoreV1Api(lab.api()).read_namespaced_secret("rotation-probe", NAMESPACE)
    assert secret.data["token"] == "cHJvYmUtdmFsdWU="


def patching(lab, tmp_path, *args, **settings):
    values = {"maintenance_state_dir": str(tmp_path / "state"), "os_patching_drain_timeout": 20, **settings}
    return run(lab, REPO / "playbooks" / "maintenance.yml", values, tmp_path, "--tags", "patching", *args)


def patched_hosts(run):
    """Hosts that ran a task of the patch play."""
    play = run.stdout.split("PLAY [Patch the nodes one at a time]", 1)[-1].split("\nPLAY [", 1)[0]
    return {host for host in ("k8s-master-01", WORKER) if f"ok: [{host}]" in play or f"changed: [{host}]" in play}


def ensure_namespace(api):
    try:
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    except client.exceptions.ApiException as error:
        if error.status != 409:
            raise


def unschedulable(api, node):
    return bool(client.CoreV1Api(api).read_node(node).spec.unschedulable)


def test_a_drain_blocked_by_a_disruption_budget_stops_the_rollout_and_uncordons(lab, tmp_path):
    lab.wait_ready()
    api = lab.api()
    ensure_namespace(api)
    labels = {"app": "patching-probe"}
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="patching-probe", labels=labels),
        spec=client.V1PodSpec(
            node_name=WORKER, containers=[client.V1Container(name="c", image="harbor.example/app:1.0")]
        ),
    )
    core = client.CoreV1Api(api)
    core.create_namespaced_pod(NAMESPACE, pod)
    # No kubelet runs pods here: the pod is reported Running and Ready as a kubelet would, since the
    # API server evicts a Pending pod whatever its budget says.
    ready = {"type": "Ready", "status": "True"}
    status = {"status": {"phase": "Running", "conditions": [ready, {"type": "ContainersReady", "status": "True"}]}}
    core.patch_namespaced_pod_status("patching-probe", NAMESPACE, status)
    budget = client.V1PodDisruptionBudget(
        metadata=client.V1ObjectMeta(name="patching-probe"),
        spec=client.V1PodDisruptionBudgetSpec(min_available=1, selector=client.V1LabelSelector(match_labels=labels)),
    )
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(NAMESPACE, budget)
    deadline = time.time() + 60
    while time.time() < deadline:  # the disruption controller has seen the healthy pod
        observed = client.PolicyV1Api(api).read_namespaced_pod_disruption_budget("patching-probe", NAMESPACE).status
        if observed and observed.current_healthy == 1 and observed.disruptions_allowed == 0:
            break
        time.sleep(1)
    else:
        pytest.fail(f"the PodDisruptionBudget never counted the pod: {observed}")
    try:
        stopped = patching(lab, tmp_path)
        assert stopped.returncode != 0
        assert f"os_patching: rollout stopped at {WORKER}: " in stopped.stdout, stopped.stdout[-8000:]
        assert "the node was uncordoned" in stopped.stdout
        assert "Upgrade the packages" not in stopped.stdout
        assert patched_hosts(stopped) == {WORKER}  # the control plane is not touched
        assert not unschedulable(lab.api(), WORKER)
        assert client.CoreV1Api(lab.api()).read_namespaced_pod("patching-probe", NAMESPACE).spec.node_name == WORKER
    finally:
        client.PolicyV1Api(api).delete_namespaced_pod_disruption_budget("patching-probe", NAMESPACE)
        client.CoreV1Api(api).delete_namespaced_pod("patching-probe", NAMESPACE, grace_period_seconds=0)


def test_a_failed_upgrade_stops_the_rollout_and_uncordons(lab, tmp_path):
    stopped = patching(lab, tmp_path, os_patching_packages=["no-such-package-of-debian"])
    assert stopped.returncode != 0
    expected = f'os_patching: rollout stopped at {WORKER}: "Install the listed packages" failed'
    assert expected in stopped.stdout, stopped.stdout[-8000:]
    assert patched_hosts(stopped) == {WORKER}  # the control plane is not touched
    assert not unschedulable(lab.api(), WORKER)


def test_a_worker_is_patched_and_schedulable_again(lab, tmp_path):
    patched = patching(lab, tmp_path, "--limit", f"{WORKER},localhost")
    assert patched.returncode == 0, patched.stdout[-6000:]
    assert "Drain the node" in patched.stdout and "Uncordon the node" in patched.stdout
    assert not unschedulable(lab.api(), WORKER)
    summary = json.loads((tmp_path / "state" / "summaries" / "latest.json").read_text())
    assert summary["hosts"][WORKER]["patching"]["node"] == WORKER
    assert summary["hosts"][WORKER]["patching"]["reboot_required"] is False
