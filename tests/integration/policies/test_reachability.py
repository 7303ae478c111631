"""The compiled NetworkPolicies give exactly the intended reachability matrix, as judged by cyclonus
(SIG Network's NetworkPolicy analysis tool, built from its Go module): every listed flow passes, and
everything not listed, between every pair of peers on every probed port, is denied.

The harness is first checked on the Kubernetes documentation's NetworkPolicy example.
"""

import itertools
import json
import re
import subprocess

import pytest
import yaml
from policies_render import REPO, tool

pytestmark = pytest.mark.slow

NAME = "app.kubernetes.io/name"


def pod(namespace, name, ip):
    return {
        "Internal": {
            "PodLabels": {NAME: name},
            "NamespaceLabels": {"kubernetes.io/metadata.name": namespace},
            "Namespace": namespace,
        },
        "IP": ip,
    }


def external(ip):
    return {"Internal": None, "IP": ip}


# The seed's peers: a pod of each managed namespace, the pods flows single out, CoreDNS, the API server
# (a control-plane node address) and a client on the internet.
PEERS = {
    "cicd-runners/app": pod("cicd-runners", "runner", "10.244.1.10"),
    "cicd-registry/app": pod("cicd-registry", "harbor", "10.244.2.10"),
    "security-monitoring/app": pod("security-monitoring", "trivy", "10.244.3.10"),
    "infra-monitoring/app": pod("infra-monitoring", "alertmanager", "10.244.3.11"),
    "infra-monitoring/prometheus": pod("infra-monitoring", "prometheus", "10.244.3.12"),
    "infra-monitoring/grafana": pod("infra-monitoring", "grafana", "10.244.3.13"),
    "ingress-nginx/app": pod("ingress-nginx", "ingress-nginx", "10.244.1.20"),
    "gatekeeper-system/app": pod("gatekeeper-system", "gatekeeper", "10.244.0.30"),
    "kube-system/coredns": {
        "Internal": {
            "PodLabels": {"k8s-app": "kube-dns"},
            "NamespaceLabels": {"kubernetes.io/metadata.name": "kube-system"},
            "Namespace": "kube-system",
        },
        "IP": "10.244.0.2",
    },
    "node": external("192.168.1.10"),
    "internet": external("203.0.113.7"),
}
MANAGED = [p for p in PEERS if "/" in p and not p.startswith("kube-system/")]
UNMANAGED = ["kube-system/coredns", "node", "internet"]
# Every port of a flow, the same numbers over the other protocol, and ports no flow names.
PORTS = [
    "53/UDP",
    "53/TCP",
    "80/TCP",
    "443/TCP",
    "3000/TCP",
    "6443/TCP",
    "8001/TCP",
    "8080/TCP",
    "8080/UDP",
    "8443/TCP",
    "8888/TCP",
    "9090/TCP",
    "9093/TCP",
    "9100/TCP",
    "10250/TCP",
    "10254/TCP",
    "5432/TCP",
]


def ns(peer):
    return peer.split("/")[0]


def intended():
    """The allowed (source, destination, port) of the seed, written from the issue, not from the compiler."""
    allowed = set()

    def allow(sources, destinations, ports):
        allowed.update(itertools.product(sources, destinations, ports))

    # namespace isolation: pods of one namespace reach each other on every port
    for a, b in itertools.product(MANAGED, MANAGED):
        if ns(a) == ns(b):
            allow([a], [b], PORTS)
    allow(MANAGED, ["kube-system/coredns"], ["53/UDP", "53/TCP"])
    allow([p for p in MANAGED if ns(p) != "cicd-registry"], ["node"], ["6443/TCP"])
    allow(["cicd-runners/app", "security-monitoring/app", "ingress-nginx/app"], ["cicd-registry/app"], ["8080/TCP"])
    allow(["ingress-nginx/app"], ["infra-monitoring/grafana"], ["3000/TCP"])
    # web clients to the ingress controller: any address, the cluster's own unmanaged pods included
    allow(["internet", "node", "kube-system/coredns"], ["ingress-nginx/app"], ["80/TCP", "443/TCP"])
    allow(["node"], ["gatekeeper-system/app"], ["8443/TCP"])
    allow(["infra-monitoring/prometheus"], ["cicd-registry/app"], ["8001/TCP"])
    allow(["infra-monitoring/prometheus"], ["security-monitoring/app"], ["8080/TCP"])
    allow(["infra-monitoring/prometheus"], ["ingress-nginx/app"], ["10254/TCP"])
    allow(["infra-monitoring/prometheus"], ["gatekeeper-system/app"], ["8888/TCP"])
    allow(["infra-monitoring/prometheus"], ["node"], ["9100/TCP", "10250/TCP"])
    # the internet, but no private network, for the runners (GitHub) and Harbor's proxy cache
    allow(["cicd-runners/app", "cicd-registry/app"], ["internet"], ["443/TCP"])
    # outside this role: traffic between unmanaged peers is not restricted by it
    allow(UNMANAGED, UNMANAGED, PORTS)
    return allowed


def traffic(source, destination, port):
    number, protocol = port.split("/")
    return {
        "Source": source,
        "Destination": destination,
        "ResolvedPort": int(number),
        "ResolvedPortName": "",
        "Protocol": protocol,
    }


def cyclonus(policies, traffics, tmp_path):
    """Allowed or not for each traffic, in order, from `cyclonus analyze --mode query-traffic`."""
    policy_file = tmp_path / "policies.yaml"
    policy_file.write_text(
        yaml.safe_dump({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicyList", "items": policies})
    )
    traffic_file = tmp_path / "traffic.json"
    traffic_file.write_text(json.dumps(traffics))
    done = subprocess.run(
        [
            tool("cyclonus"),
            "analyze",
            "--mode",
            "query-traffic",
            "--policy-path",
            str(policy_file),
            "--traffic-path",
            str(traffic_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    verdicts = re.findall(r"^\|\s*IS ALLOWED\?\s*\|\s*(TRUE|FALSE)\s*\|", done.stdout, re.MULTILINE)
    assert len(verdicts) == len(traffics), done.stdout[-2000:]
    return [verdict == "TRUE" for verdict in verdicts]


# The harness on the Kubernetes documentation's example (concepts/services-networking/network-policies):
# pods role=db in default take 6379/TCP from 172.17.0.0/16 except 172.17.1.0/24, from namespaces
# project=myproject and from pods role=frontend of default, and send only to 10.0.0.0/24 on 5978/TCP.
DOCS_POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "test-network-policy", "namespace": "default"},
    "spec": {
        "podSelector": {"matchLabels": {"role": "db"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [
                    {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
                    {"namespaceSelector": {"matchLabels": {"project": "myproject"}}},
                    {"podSelector": {"matchLabels": {"role": "frontend"}}},
                ],
                "ports": [{"protocol": "TCP", "port": 6379}],
            }
        ],
        "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 5978}]}],
    },
}


def docs_pod(namespace, role, ip, namespace_labels=None):
    return {
        "Internal": {
            "PodLabels": {"role": role},
            "NamespaceLabels": namespace_labels or {"kubernetes.io/metadata.name": namespace},
            "Namespace": namespace,
        },
        "IP": ip,
    }


DB = docs_pod("default", "db", "10.244.0.5")
DOCS_CASES = [
    ("frontend-to-db", docs_pod("default", "frontend", "10.244.0.6"), DB, "6379/TCP", True),
    ("frontend-to-db-other-port", docs_pod("default", "frontend", "10.244.0.6"), DB, "6380/TCP", False),
    ("frontend-to-db-udp", docs_pod("default", "frontend", "10.244.0.6"), DB, "6379/UDP", False),
    ("backend-to-db", docs_pod("default", "backend", "10.244.0.7"), DB, "6379/TCP", False),
    ("frontend-of-other-namespace", docs_pod("other", "frontend", "10.244.1.6"), DB, "6379/TCP", False),
    (
        "any-pod-of-myproject",
        docs_pod("myproject", "x", "10.244.2.6", {"project": "myproject"}),
        DB,
        "6379/TCP",
        True,
    ),
    ("inside-the-ipblock", external("172.17.0.5"), DB, "6379/TCP", True),
    ("inside-the-except", external("172.17.1.5"), DB, "6379/TCP", False),
    ("outside-the-ipblock", external("192.0.2.1"), DB, "6379/TCP", False),
    ("db-to-allowed-network", DB, external("10.0.0.5"), "5978/TCP", True),
    ("db-to-allowed-network-other-port", DB, external("10.0.0.5"), "80/TCP", False),
    ("db-to-other-network", DB, external("10.0.1.5"), "5978/TCP", False),
    (
        "unselected-pod-sends-anywhere",
        docs_pod("default", "frontend", "10.244.0.6"),
        external("192.0.2.1"),
        "80/TCP",
        True,
    ),
]


def test_harness_on_the_kubernetes_docs_example(tmp_path):
    traffics = [traffic(s, d, p) for _name, s, d, p, _allowed in DOCS_CASES]
    verdicts = cyclonus([DOCS_POLICY], traffics, tmp_path)
    wrong = [case[0] for case, verdict in zip(DOCS_CASES, verdicts, strict=True) if verdict != case[4]]
    assert not wrong


def test_without_policies_everything_is_allowed(tmp_path):
    traffics = [traffic(PEERS["cicd-runners/app"], PEERS["cicd-registry/app"], "5432/TCP")]
    assert cyclonus([], traffics, tmp_path) == [True]


@pytest.fixture(scope="module")
def matrix(rendered, tmp_path_factory):
    """{(source, destination, port): allowed} for every pair of peers and every probed port."""
    policies = rendered.of_kind("NetworkPolicy")
    keys = list(itertools.product(PEERS, PEERS, PORTS))
    verdicts = cyclonus(
        policies, [traffic(PEERS[s], PEERS[d], p) for s, d, p in keys], tmp_path_factory.mktemp("cyclonus")
    )
    return dict(zip(keys, verdicts, strict=True))


def test_reachability_is_exactly_the_intended_matrix(matrix):
    allowed = intended()
    unexpected = sorted(key for key, verdict in matrix.items() if verdict and key not in allowed)
    missing = sorted(key for key, verdict in matrix.items() if not verdict and key in allowed)
    assert not unexpected, f"allowed but not intended: {unexpected}"
    assert not missing, f"intended but denied: {missing}"


def test_the_matrix_denies_most_traffic(matrix):
    denied = sum(1 for verdict in matrix.values() if not verdict)
    assert len(matrix) == len(PEERS) ** 2 * len(PORTS) == 2057
    assert denied == 1624  # docs/policies.md
    closed = [(s, d) for s in PEERS for d in PEERS if not any(matrix[(s, d, p)] for p in PORTS)]
    assert len(closed) == 69  # docs/policies.md


def matrix_table(matrix):
    """Markdown: for each pair of peers in different places, the ports that pass."""
    lines = ["| from | to | allowed ports |", "| --- | --- | --- |"]
    for source, destination in itertools.product(PEERS, PEERS):
        if source in UNMANAGED and destination in UNMANAGED:
            continue
        if "/" in source and "/" in destination and ns(source) == ns(destination):
            continue
        ports = [p for p in PORTS if matrix.get((source, destination, p))]
        if ports:
            lines.append(f"| {source} | {destination} | {', '.join(ports)} |")
    return "\n".join(lines)


def test_docs_show_the_measured_matrix(matrix):
    """docs/policies.md carries the matrix cyclonus measured (pods of one namespace reach each other)."""
    docs = (REPO / "docs" / "policies.md").read_text()
    assert matrix_table(matrix) in docs, "\n" + matrix_table(matrix)
