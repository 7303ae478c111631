"""The hardening of the kubernetes role, proven on the running control plane it set up."""

import base64
import contextlib
import json
import secrets
import threading
import time

import pytest
import yaml
from cluster_harness import pod
from kubernetes import client
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.slow


def core(cluster):
    return client.CoreV1Api(cluster.api())


def test_role_initialised_the_cluster_with_kubeadm(cluster):
    api = core(cluster)
    kubeadm_config = api.read_namespaced_config_map("kubeadm-config", "kube-system")
    config = yaml.safe_load(kubeadm_config.data["ClusterConfiguration"])
    assert config["clusterName"] == "homelab-production"
    assert config["kubernetesVersion"] == cluster.version
    nodes = {n.metadata.name: n for n in api.list_node().items}
    control_plane = nodes["k8s-master-01"]
    taints = {(t.key, t.effect) for t in control_plane.spec.taints or []}
    assert ("node-role.kubernetes.io/control-plane", "NoSchedule") in taints
    assert "node-role.kubernetes.io/control-plane" in control_plane.metadata.labels


def test_the_worker_joined_with_its_duty(cluster):
    """kubeadm join (token discovery through the anonymous cluster-info, TLS bootstrap), then the
    role's labels; the taint was set at registration from the join configuration."""
    worker = core(cluster).read_node("k8s-worker-02")
    assert worker.metadata.labels["homelab.k8s/role"] == "ci-registry"
    assert "node-role.kubernetes.io/worker" in worker.metadata.labels
    taints = {(t.key, t.value, t.effect) for t in worker.spec.taints or []}
    assert ("homelab.k8s/dedicated", "ci-registry", "NoSchedule") in taints
    assert "hostname-override" not in cluster.worker.read("/var/lib/kubelet/kubeadm-flags.env")  # CIS 4.2.7
    kubelet_conf = yaml.safe_load(cluster.worker.read("/etc/kubernetes/kubelet.conf"))
    assert kubelet_conf["users"][0]["user"]["client-certificate"] == "/var/lib/kubelet/pki/kubelet-client-current.pem"
    assert cluster.worker.exec("test", "-e", "/etc/kubernetes/bootstrap-kubelet.conf", check=False).returncode != 0
    assert cluster.worker.exec("test", "-e", "/etc/kubernetes/kubeadm/join.yaml", check=False).returncode != 0


LABELS_TASK = "homelab.k8s.kubernetes : Set the node's labels"
HEARTBEAT = "HomelabTestHeartbeat"


@contextlib.contextmanager
def node_status_updates(cluster, nodes=("k8s-master-01", "k8s-worker-02"), interval=0.02):
    """Moves the nodes' status all the time, as a kubelet's heartbeats do, only far more often: a
    condition of the test's own gets a new message every `interval` seconds. Yields the list of
    updates made; the condition is removed at the end."""
    api = core(cluster)
    made, stop = [], threading.Event()

    def post(name, condition):
        body = {"status": {"conditions": [condition]}}
        api.patch_node_status(name, body, _content_type="application/strategic-merge-patch+json")

    def beat():
        while not stop.is_set():
            for name in nodes:
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                condition = {"type": HEARTBEAT, "status": "True", "reason": "Test", "message": str(len(made))}
                post(name, {**condition, "lastHeartbeatTime": now, "lastTransitionTime": now})
                made.append(name)
            stop.wait(interval)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        stop.set()
        thread.join(timeout=30)
        for name in nodes:
            post(name, {"type": HEARTBEAT, "$patch": "delete"})


def test_labels_follow_the_settings_and_a_second_run_changes_nothing(cluster):
    """The role applies a node's labels when they differ from its settings: a label changed by hand
    is set back, one the role applied before and no longer has is removed. The kubelet's status
    updates, which move the Node all the time, never count as a change: a second run, with the
    nodes' status updated every few milliseconds, changes nothing."""
    drifted = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "k8s-worker-02",
            "labels": {
                "homelab.k8s/role": "general",
                "node-role.kubernetes.io/worker": "",
                "homelab.k8s/retired": "yes",
            },
        },
    }
    cluster.control_plane.exec(
        "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "--server-side", "--force-conflicts",
        "--field-manager=homelab.k8s", "--filename=-", input_text=json.dumps(drifted),
    )  # fmt: skip

    run = cluster.run_role()
    assert run.returncode == 0, run.stdout[-6000:]
    assert "changed: [k8s-worker-02 -> localhost]" in run.task(LABELS_TASK), run.stdout[-6000:]
    assert "changed: [k8s-master-01" not in run.task(LABELS_TASK)
    labels = core(cluster).read_node("k8s-worker-02").metadata.labels
    assert labels["homelab.k8s/role"] == "ci-registry"
    assert "node-role.kubernetes.io/worker" in labels
    assert "homelab.k8s/retired" not in labels

    with node_status_updates(cluster) as updates:
        rerun = cluster.run_role()
    assert len(updates) > 100  # the Nodes moved all through the run
    assert rerun.returncode == 0, rerun.stdout[-6000:]
    for host in ("k8s-master-01", "k8s-worker-02"):
        assert rerun.recap(host)["changed"] == 0, rerun.stdout[-6000:]
    assert all(c.type != HEARTBEAT for c in core(cluster).read_node("k8s-worker-02").status.conditions)


def test_secrets_are_stored_encrypted_in_etcd(cluster):
    value = secrets.token_hex(16)
    core(cluster).create_namespaced_secret(
        "default", client.V1Secret(metadata=client.V1ObjectMeta(name="at-rest"), string_data={"value": value})
    )
    raw = cluster.control_plane.etcd_value("/registry/secrets/default/at-rest")
    encryption = yaml.safe_load(cluster.control_plane.read("/etc/kubernetes/apiserver/encryption.yaml"))
    ((provider, settings),) = encryption["resources"][0]["providers"][0].items()
    assert provider == "secretbox"  # the role's default
    assert raw.startswith(f"k8s:enc:secretbox:v1:{settings['keys'][0]['name']}:".encode()), raw[:60]
    assert value.encode() not in raw
    # The API server decrypts it again.
    stored = core(cluster).read_namespaced_secret("at-rest", "default")
    assert base64.b64decode(stored.data["value"]).decode() == value


def audit_events(cluster):
    log = cluster.control_plane.read("/var/log/kubernetes/audit/audit.log")
    return [json.loads(line) for line in log.splitlines() if line.strip()]


def test_audit_log_levels_and_no_secret_bodies(cluster):
    api = core(cluster)
    value = secrets.token_hex(16)
    api.create_namespaced_secret(
        "default", client.V1Secret(metadata=client.V1ObjectMeta(name="audited"), string_data={"token": value})
    )
    rbac = client.RbacAuthorizationV1Api(cluster.api())
    rbac.create_namespaced_role(
        "default",
        client.V1Role(
            metadata=client.V1ObjectMeta(name="audited"),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get"])],
        ),
    )
    api.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="audited"), data={"k": "v"})
    )
    events = audit_events(cluster)

    def created(resource):
        (event,) = [
            e
            for e in events
            if e["verb"] == "create"
            and e.get("objectRef", {}).get("resource") == resource
            and e.get("objectRef", {}).get("name") == "audited"
            and e["stage"] == "ResponseComplete"
        ]
        return event

    assert created("secrets")["level"] == "Metadata"
    assert "requestObject" not in created("secrets")
    assert created("configmaps")["level"] == "Metadata"
    role = created("roles")
    assert role["level"] == "RequestResponse"
    assert role["requestObject"]["rules"][0]["resources"] == ["pods"]
    assert "responseObject" in role
    assert value not in json.dumps(events)
    assert not [e for e in events if e["stage"] == "RequestReceived"]  # omitted stage


def test_pod_security_rejects_a_privileged_pod_at_the_default_level(cluster):
    api = core(cluster)
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="psa-default")))
    with pytest.raises(ApiException) as denied:
        api.create_namespaced_pod("psa-default", pod("privileged", privileged=True))
    assert denied.value.status == 403
    message = json.loads(denied.value.body)["message"]
    assert 'violates PodSecurity "baseline:latest": privileged' in message


def test_exempt_namespaces_admit_a_privileged_pod(cluster):
    created = core(cluster).create_namespaced_pod("kube-system", pod("privileged-exempt", privileged=True))
    assert created.metadata.name == "privileged-exempt"


def test_anonymous_requests_reach_only_the_health_endpoints(cluster):
    for path in ("/livez", "/readyz", "/healthz"):
        assert cluster.anonymous(path) == (200, "ok"), path
    for path in ("/api", "/api/v1/namespaces", "/version", "/metrics", "/api/v1/namespaces/default/secrets"):
        status = cluster.anonymous(path)[0]
        assert status in (401, 403), path


def test_anonymous_join_discovery_reads_cluster_info_and_nothing_else(cluster):
    status, body = cluster.anonymous("/api/v1/namespaces/kube-public/configmaps/cluster-info")
    assert status == 200, body
    cluster_info = json.loads(body)
    kubeconfig = yaml.safe_load(cluster_info["data"]["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] == cluster.server
    for path in (
        "/api/v1/namespaces/kube-public/configmaps",
        "/api/v1/namespaces/kube-public/configmaps/other",
        "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
    ):
        status = cluster.anonymous(path)[0]
        assert status in (401, 403), path


def test_api_server_runs_the_hardening_flags(cluster):
    argv = cluster.control_plane.processes()["kube-apiserver"]
    flags = dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a)
    plugins = flags["enable-admission-plugins"].split(",")
    assert {"NodeRestriction", "EventRateLimit", "DenyServiceExternalIPs"} <= set(plugins)
    assert flags["authentication-config"] == "/etc/kubernetes/apiserver/authentication.yaml"
    assert flags["encryption-provider-config"] == "/etc/kubernetes/apiserver/encryption.yaml"
    assert flags["encryption-provider-config-automatic-reload"] == "true"
    assert flags["profiling"] == "false"
    assert flags["authorization-mode"] == "Node,RBAC"
    assert "anonymous-auth" not in flags  # the authentication configuration decides


def node_client(cluster):
    """The node's own credentials: the kubelet.conf kubeadm wrote on the control plane."""
    return client.CoreV1Api(cluster.node_api_client())


def test_node_restriction_stops_a_node_changing_another_node(cluster):
    core(cluster).create_node(client.V1Node(metadata=client.V1ObjectMeta(name="other-node")))
    node = node_client(cluster)
    patch = {"metadata": {"labels": {"homelab.k8s/forged": "true"}}}
    with pytest.raises(ApiException) as denied:
        node.patch_node("other-node", patch)
    assert denied.value.status == 403
    message = json.loads(denied.value.body)["message"]
    assert 'node "k8s-master-01" is not allowed to modify node "other-node"' in message
    node.patch_node("k8s-master-01", patch)  # its own Node: allowed


def test_event_rate_limit_answers_429_past_its_burst(cluster):
    # The bucket holds `burst` events and refills at `qps`: eight writers keep creating events
    # until the API server answers 429. How soon depends on the machine's speed, not whether.
    api = core(cluster)
    statuses = []
    limited = threading.Event()
    deadline = time.monotonic() + 120

    def burst(worker):
        for i in range(1000):
            if limited.is_set() or time.monotonic() > deadline:
                return
            event = client.CoreV1Event(
                metadata=client.V1ObjectMeta(name=f"burst-{worker}-{i}"),
                involved_object=client.V1ObjectReference(kind="Pod", name="x", namespace="default"),
                reason="Test",
                message="rate limit",
                type="Normal",
            )
            try:
                api.create_namespaced_event("default", event)
                statuses.append(201)
            except ApiException as error:
                statuses.append(error.status)
                if error.status == 429:
                    limited.set()

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert limited.is_set(), f"no 429 after {statuses.count(201)} events"
    assert set(statuses) <= {201, 429}, statuses
    assert statuses.count(201) >= 100  # the burst of the Server limit passes


PROBE = """
import base64, json, ssl, sys, urllib.request, urllib.error, yaml, tempfile, os
cfg = yaml.safe_load(open('/etc/kubernetes/admin.conf'))
user = cfg['users'][0]['user']
pem = tempfile.NamedTemporaryFile('wb', delete=False)
pem.write(base64.b64decode(user['client-certificate-data']) + b'\\n' + base64.b64decode(user['client-key-data']))
pem.close()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(pem.name); os.unlink(pem.name)
out = {}
for port in (10257, 10259):
    for path in ('/healthz', '/debug/pprof/'):
        try:
            out[f'{port}{path}'] = urllib.request.urlopen(f'https://127.0.0.1:{port}{path}', context=ctx).status
        except urllib.error.HTTPError as e:
            out[f'{port}{path}'] = e.code
print(json.dumps(out))
"""


def test_controller_manager_and_scheduler_serve_on_localhost_without_profiling(cluster):
    host = cluster.control_plane
    listening = host.exec("ss", "-Hltn").stdout.split("\n")
    local = {line.split()[3] for line in listening if line.strip()}
    for port in ("10257", "10259"):
        bound = [a for a in local if a.rsplit(":", 1)[1] == port]
        assert bound == ["127.0.0.1:" + port], (port, local)
    answers = json.loads(host.exec("python3", "-c", PROBE).stdout)
    assert answers == {
        "10257/healthz": 200,
        "10257/debug/pprof/": 404,
        "10259/healthz": 200,
        "10259/debug/pprof/": 404,
    }


def test_an_unfinished_init_is_reset_and_run_again(cluster):
    failed = cluster.failed_init
    assert failed.returncode != 0
    assert "TASK [homelab.k8s.kubernetes : Run kubeadm init]" in failed.stdout
    assert "the kubelet" in failed.stdout  # kubeadm's own reason: no kubelet answered
    reset = cluster.first_run.task("homelab.k8s.kubernetes : Reset what the unfinished init left behind")
    assert "changed: [k8s-master-01]" in reset, reset
    assert cluster.control_plane.read("/etc/kubernetes/kubeadm/init-state").strip() == "complete"
