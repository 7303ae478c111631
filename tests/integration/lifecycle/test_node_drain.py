"""The node_drain role against the real API server of the shared test cluster.

Each test makes a Node object of its own and a ReplicaSet whose pods the real scheduler binds to
that node (a node selector only it matches). No kubelet runs here, so the test does the one thing
a kubelet would do for these pods: it reports them Running and Ready through the status
subresource, which is what the disruption controller counts. Eviction, PodDisruptionBudgets,
the scheduler and the ReplicaSet controller are the real ones; the pods have a termination grace
period of 0, so an evicted pod is gone at once (a kubelet would confirm its end).
"""

import time
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from playbook_runner import ansible_playbook, local_inventory

pytestmark = pytest.mark.slow

HERE = __import__("pathlib").Path(__file__).resolve().parent
NAMESPACE = "node-drain-test"
# The test Nodes have no kubelet: the node lifecycle controller taints them not-ready and
# unreachable. Only those taints are tolerated (tolerating all would tolerate the cordon too).
NO_KUBELET = [
    client.V1Toleration(key=f"node.kubernetes.io/{key}", operator="Exists") for key in ("not-ready", "unreachable")
]
# The test Nodes carry a taint of their own, so that pods other tests left Pending in the shared
# cluster are not scheduled onto them; only this test's pods tolerate it.
TEST_NODE_TAINT = client.V1Taint(key="drain-test", effect="NoSchedule")
TOLERATIONS = [*NO_KUBELET, client.V1Toleration(key="drain-test", operator="Exists", effect="NoSchedule")]


@pytest.fixture(scope="module")
def api(cluster):
    core = client.CoreV1Api(cluster.api())
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    except ApiException as error:
        if error.status != 409:
            raise
    yield cluster.api()
    # The shared cluster is left as it was found.
    core.delete_collection_node(label_selector="drain-test")
    core.delete_namespace(NAMESPACE)


@pytest.fixture
def drain(cluster, tmp_path):
    inventory = local_inventory(tmp_path / "inventory.json", "controller", "localhost")

    def run(node, entry="drain", **extra):
        args = ["-i", inventory, "-e", f"lifecycle_entry={entry}", "-e", f"node_drain_node={node}"]
        args += ["-e", f"node_drain_kubeconfig={cluster.kubeconfig}"]
        for key, value in extra.items():
            args += ["-e", f"{key}={value}"]
        return ansible_playbook(HERE / "drain.yml", *args)

    return run


def make_node(api, name):
    """A Node object with room for pods: what a kubelet registers."""
    core = client.CoreV1Api(api)
    core.create_node(
        client.V1Node(
            metadata=client.V1ObjectMeta(name=name, labels={"drain-test": name}),
            spec=client.V1NodeSpec(taints=[TEST_NODE_TAINT]),
        )
    )
    status = {"capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"}}
    status["allocatable"] = status["capacity"]
    core.patch_node_status(name, {"status": status})
    return name


def report_running(api, pod):
    """What the kubelet reports of a started pod: Running, and Ready."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {
        "phase": "Running",
        "startTime": now,
        "conditions": [
            {"type": condition, "status": "True", "lastTransitionTime": now}
            for condition in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ],
    }
    client.CoreV1Api(api).patch_namespaced_pod_status(pod.metadata.name, NAMESPACE, {"status": status})


def running_replicas(api, node, app, replicas, timeout=60):
    """A ReplicaSet of `replicas` pods bound to `node` by the scheduler, reported Running and Ready."""
    template = client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels={"app": app}),
        spec=client.V1PodSpec(
            node_selector={"drain-test": node},
            tolerations=TOLERATIONS,
            termination_grace_period_seconds=0,
            containers=[client.V1Container(name="app", image="harbor.example/app:1.0")],
        ),
    )
    spec = client.V1ReplicaSetSpec(
        replicas=replicas, selector=client.V1LabelSelector(match_labels={"app": app}), template=template
    )
    client.AppsV1Api(api).create_namespaced_replica_set(
        NAMESPACE, client.V1ReplicaSet(metadata=client.V1ObjectMeta(name=app), spec=spec)
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        pods = pods_on(api, node)
        if len(pods) == replicas:
            break
        time.sleep(1)
    else:
        raise TimeoutError(f"the scheduler bound {len(pods_on(api, node))} of {replicas} pods to {node}")
    for pod in pods:
        report_running(api, pod)
    return sorted(p.metadata.name for p in pods)


def pods_on(api, node):
    return client.CoreV1Api(api).list_namespaced_pod(NAMESPACE, field_selector=f"spec.nodeName={node}").items


def budget(api, app, min_available, timeout=60):
    """A PodDisruptionBudget, waited for until the disruption controller has counted its pods."""
    policy = client.PolicyV1Api(api)
    policy.create_namespaced_pod_disruption_budget(
        NAMESPACE,
        client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name=app),
            spec=client.V1PodDisruptionBudgetSpec(
                min_available=min_available, selector=client.V1LabelSelector(match_labels={"app": app})
            ),
        ),
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = policy.read_namespaced_pod_disruption_budget(app, NAMESPACE).status
        if status and status.observed_generation and status.current_healthy == status.expected_pods > 0:
            return status
        time.sleep(1)
    raise TimeoutError(f"the disruption controller did not count the pods of {app}")


def unschedulable(api, node):
    return bool(client.CoreV1Api(api).read_node(node).spec.unschedulable)


def fresh(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_a_budget_that_blocks_the_drain_leaves_the_node_schedulable(api, drain):
    node = make_node(api, fresh("drain-blocked"))
    app = fresh("guarded")
    pods = running_replicas(api, node, app, replicas=2)
    status = budget(api, app, min_available=2)
    assert status.disruptions_allowed == 0

    run = drain(node, node_drain_timeout=6, node_drain_retry_delay=2)

    assert run.returncode != 0, run.stdout[-4000:]
    assert "TASK [homelab.k8s.node_drain : Uncordon the node the drain cordoned]" in run.stdout
    message = run.task("homelab.k8s.node_drain : Fail with the node and the reason")
    assert f"node {node} was not drained" in message, run.stdout[-4000:]
    assert "disruption budget" in message, message
    assert "It is schedulable again" in message
    assert not unschedulable(api, node)
    assert sorted(p.metadata.name for p in pods_on(api, node)) == pods  # nothing was evicted


def test_a_drain_evicts_the_pods_and_uncordon_makes_the_node_schedulable(api, drain):
    node = make_node(api, fresh("drain-ok"))
    app = fresh("spread")
    running_replicas(api, node, app, replicas=2)
    budget(api, app, min_available=0)

    run = drain(node, node_drain_timeout=30, node_drain_retry_delay=2)

    assert run.returncode == 0, run.stdout[-4000:]
    assert run.recap("localhost")["changed"] == 1
    assert unschedulable(api, node)
    assert pods_on(api, node) == []
    # The ReplicaSet replaced the evicted pods; the scheduler keeps them off the cordoned node.
    time.sleep(2)
    replicas = client.CoreV1Api(api).list_namespaced_pod(NAMESPACE, label_selector=f"app={app}").items
    assert len(replicas) == 2
    assert all(not p.spec.node_name for p in replicas)

    again = drain(node, node_drain_timeout=30, node_drain_retry_delay=2)
    assert again.returncode == 0 and again.recap("localhost")["changed"] == 0, again.stdout[-4000:]

    uncordon = drain(node, entry="uncordon")
    assert uncordon.returncode == 0, uncordon.stdout[-4000:]
    assert not unschedulable(api, node)
    # Schedulable again: the scheduler brings the replacements back.
    deadline = time.time() + 30
    while len(pods_on(api, node)) < 2 and time.time() < deadline:
        time.sleep(1)
    assert len(pods_on(api, node)) == 2


def test_a_pod_no_controller_owns_stops_the_drain_with_its_name(api, drain):
    node = make_node(api, fresh("drain-bare"))
    bare = client.V1Pod(
        metadata=client.V1ObjectMeta(name=fresh("bare")),
        spec=client.V1PodSpec(
            node_name=node,
            tolerations=TOLERATIONS,
            termination_grace_period_seconds=0,
            containers=[client.V1Container(name="app", image="harbor.example/app:1.0")],
        ),
    )
    client.CoreV1Api(api).create_namespaced_pod(NAMESPACE, bare)

    run = drain(node, node_drain_timeout=4, node_drain_retry_delay=2)

    assert run.returncode != 0
    message = run.task("homelab.k8s.node_drain : Fail with the node and the reason")
    assert f"node {node} was not drained" in message and f"{NAMESPACE}/{bare.metadata.name}" in message, message
    assert not unschedulable(api, node)


def test_a_missing_node_or_a_bad_name_fails_before_anything(api, drain):
    missing = drain("no-such-node")
    assert missing.returncode != 0
    message = missing.task("homelab.k8s.node_drain : Fail with the node and the reason")
    assert "node no-such-node was not drained: no Node of this name" in message, missing.stdout[-3000:]

    bad = drain("Bad_Name")
    assert bad.returncode != 0
    assert "node_drain_node='Bad_Name'" in bad.stdout, bad.stdout[-3000:]
    assert "k8s_drain" not in bad.stdout.split("Check the drain settings", 1)[1].split("PLAY RECAP")[0]
