"""Unit tests of the policies filters (plugins/filter/policies.py): compiled objects and bad input."""

import copy

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.filter import policies
from ansible_collections.homelab.k8s.plugins.filter.policies import (
    gatekeeper_constraints,
    network_policies,
    policy_namespaces,
    rbac_objects,
)

NAMESPACES = [
    {"name": "runners", "owner": "ci"},
    {"name": "registry", "pod_security": "baseline", "pod_security_reason": "chart", "ports": {"http": 8080}},
    {
        "name": "monitoring",
        "pod_security": "privileged",
        "pod_security_reason": "node-exporter",
        "ports": {"metrics": "9100/TCP", "dns-cache": "53/UDP"},
    },
]
DEFAULTS = {"quota": {"pods": 10, "limits.memory": "4Gi"}, "limits": {"default": {"memory": "256Mi"}}}
TEMPLATES = [{"kind": "K8sHarborImages"}, {"kind": "K8sRunAsNonRoot"}]


def by(objects, kind, name=None, namespace=None):
    found = [
        o
        for o in objects
        if o["kind"] == kind
        and (name is None or o["metadata"]["name"] == name)
        and (namespace is None or o["metadata"].get("namespace") == namespace)
    ]
    return found


def one(objects, kind, name=None, namespace=None):
    found = by(objects, kind, name, namespace)
    assert len(found) == 1, (kind, name, namespace, found)
    return found[0]


def test_filter_module_exports_every_filter():
    assert set(policies.FilterModule().filters()) == {
        "policy_namespaces",
        "network_policies",
        "rbac_objects",
        "gatekeeper_constraints",
        "manifest_yaml",
    }


# Namespaces


def test_namespace_pod_security_labels_and_reason():
    objects = policy_namespaces(NAMESPACES, DEFAULTS, pod_security_version="v1.37")
    runners = one(objects, "Namespace", "runners")["metadata"]
    assert runners["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert runners["labels"]["pod-security.kubernetes.io/enforce-version"] == "v1.37"
    assert runners["labels"]["owner"] == "ci"
    assert "annotations" not in runners
    registry = one(objects, "Namespace", "registry")["metadata"]
    assert registry["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert registry["labels"]["pod-security.kubernetes.io/audit"] == "restricted"
    assert registry["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    assert registry["annotations"]["homelab.k8s/pod-security-reason"] == "chart"


def test_pod_security_levels_per_mode():
    objects = policy_namespaces(
        [{"name": "a", "pod_security": {"enforce": "baseline", "warn": "baseline"}, "pod_security_reason": "r"}]
    )
    labels = one(objects, "Namespace", "a")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "baseline"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"


def test_default_service_account_has_no_token_in_every_namespace():
    objects = policy_namespaces(NAMESPACES, DEFAULTS)
    accounts = by(objects, "ServiceAccount", "default")
    assert {a["metadata"]["namespace"] for a in accounts} == {"runners", "registry", "monitoring"}
    assert all(a["automountServiceAccountToken"] is False for a in accounts)


def test_quota_and_limits_merge_defaults_and_become_strings():
    namespaces = [{"name": "a", "quota": {"pods": "3"}, "limits": {"default": {"cpu": "1"}}}]
    objects = policy_namespaces(namespaces, DEFAULTS)
    assert one(objects, "ResourceQuota", "quota", "a")["spec"]["hard"] == {"pods": "3", "limits.memory": "4Gi"}
    limit = one(objects, "LimitRange", "limits", "a")["spec"]["limits"][0]
    assert limit == {"type": "Container", "default": {"memory": "256Mi", "cpu": "1"}}
    assert DEFAULTS["quota"] == {"pods": 10, "limits.memory": "4Gi"}  # defaults are not changed


def test_no_quota_or_limits_without_values():
    objects = policy_namespaces([{"name": "a"}])
    assert [o["kind"] for o in objects] == ["Namespace", "ServiceAccount"]


@pytest.mark.parametrize(
    ("namespaces", "message"),
    [
        ([], "expected a non-empty list of namespaces"),
        ([{"owner": "x"}], "every namespace needs a name"),
        ([{"name": "Bad_Name"}], "namespace 'Bad_Name' is not a valid name"),
        ([{"name": "a" * 64}], "is not a valid name"),
        ([{"name": "a"}, {"name": "a"}], "namespace a is listed twice"),
        ([{"name": "a", "podsecurity": "baseline"}], "namespace a: unknown keys podsecurity"),
        ([{"name": "a", "pod_security": "strict"}], "Pod Security enforce level 'strict' is not one of"),
        ([{"name": "a", "pod_security": {"audit": "none"}}], "Pod Security audit level 'none'"),
        ([{"name": "a", "pod_security": {"enforce": "baseline", "block": "x"}}], "pod_security: unknown keys block"),
        ([{"name": "a", "pod_security": "privileged"}], "needs pod_security_reason"),
        ([{"name": "a", "quota": {"pods": "ten"}}], "quota: pods='ten' is not a quantity"),
        ([{"name": "a", "quota": {"pods": True}}], "quota: pods=True is not a quantity"),
        ([{"name": "a", "limits": {"maximum": {"cpu": "1"}}}], "limits: unknown keys maximum"),
        ([{"name": "a", "limits": {"max": {"cpu": "1 core"}}}], "limits.max: cpu='1 core' is not a quantity"),
        ([{"name": "a", "owner": "Team A"}], "namespace a: owner 'Team A' is not a valid name"),
        ([{"name": "a", "labels": {"x": 1}}], "label 'x'=1 must be a string"),
        ([{"name": "a", "ports": {"http": 70000}}], "port 70000 is outside 1-65535"),
        ([{"name": "a", "ports": {"http": "80/ICMP"}}], "protocol 'ICMP' of port '80/ICMP'"),
        ([{"name": "a", "ports": {"dns": 53}}], "port name 'dns' is not a valid name"),
    ],
)
def test_bad_namespaces_are_refused_by_name(namespaces, message):
    with pytest.raises(AnsibleFilterError, match=r"^policy_namespaces: ") as error:
        policy_namespaces(namespaces)
    assert message in str(error.value)


# NetworkPolicies


def compile_flows(flows, namespaces=None, **kwargs):
    kwargs.setdefault("apiserver_cidrs", ["192.168.1.10/32"])
    return network_policies(flows, NAMESPACES if namespaces is None else namespaces, **kwargs)


def test_default_deny_in_every_namespace_and_nothing_else_without_flows():
    objects = compile_flows([], [{"name": "a", "allow_internal": False}, {"name": "b", "allow_internal": False}])
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects] == [
        ("a", "default-deny"),
        ("b", "default-deny"),
    ]
    deny = objects[0]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_same_namespace_traffic_allowed_by_default():
    objects = compile_flows([], [{"name": "a"}])
    same = one(objects, "NetworkPolicy", "allow-same-namespace", "a")["spec"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert same["egress"] == [{"to": [{"podSelector": {}}]}]


def test_namespace_flow_gives_egress_at_the_source_and_ingress_at_the_target():
    flow = {"name": "push", "from": "runners", "to": "registry", "to_pods": {"app": "harbor"}, "ports": ["http"]}
    objects = compile_flows([dict(flow, reason="CI pushes images")])
    egress = one(objects, "NetworkPolicy", "push-egress", "runners")
    assert egress["spec"] == {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "registry"}},
                        "podSelector": {"matchLabels": {"app": "harbor"}},
                    }
                ],
                "ports": [{"port": 8080, "protocol": "TCP"}],
            }
        ],
    }
    assert egress["metadata"]["annotations"] == {"homelab.k8s/reason": "CI pushes images"}
    ingress = one(objects, "NetworkPolicy", "push-ingress", "registry")
    assert ingress["spec"] == {
        "podSelector": {"matchLabels": {"app": "harbor"}},
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "runners"}}}],
                "ports": [{"port": 8080, "protocol": "TCP"}],
            }
        ],
    }
    assert not by(objects, "NetworkPolicy", "push-ingress", "runners")


def test_named_ports_resolve_in_each_target_namespace():
    namespaces = [{"name": "a", "ports": {"metrics": 9100}}, {"name": "b", "ports": {"metrics": "8080"}}, {"name": "p"}]
    flow = {"name": "scrape", "from": "p", "from_pods": {"app": "prometheus"}, "to": ["a", "b"], "ports": ["metrics"]}
    objects = compile_flows([flow], namespaces)
    egress = one(objects, "NetworkPolicy", "scrape-egress", "p")["spec"]
    assert egress["podSelector"] == {"matchLabels": {"app": "prometheus"}}
    assert [rule["ports"] for rule in egress["egress"]] == [
        [{"port": 9100, "protocol": "TCP"}],
        [{"port": 8080, "protocol": "TCP"}],
    ]
    ingress_a = one(objects, "NetworkPolicy", "scrape-ingress", "a")["spec"]["ingress"][0]
    assert ingress_a["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "p"}},
            "podSelector": {"matchLabels": {"app": "prometheus"}},
        }
    ]


def test_several_sources_share_one_peer():
    objects = compile_flows([{"name": "f", "from": ["runners", "monitoring"], "to": "registry", "ports": [8080]}])
    peers = one(objects, "NetworkPolicy", "f-ingress", "registry")["spec"]["ingress"][0]["from"]
    assert peers == [
        {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["monitoring", "runners"]}
                ]
            }
        }
    ]


def test_several_sources_with_pod_selector_get_one_peer_each():
    flow = {"name": "f", "from": ["runners", "monitoring"], "from_pods": {"a": "b"}, "to": "registry", "ports": [1]}
    peers = one(compile_flows([flow]), "NetworkPolicy", "f-ingress", "registry")["spec"]["ingress"][0]["from"]
    assert len(peers) == 2
    assert all(peer["podSelector"] == {"matchLabels": {"a": "b"}} for peer in peers)


def test_dns_flow_from_all_namespaces():
    objects = compile_flows([{"name": "dns", "from": "all", "to": "dns"}])
    policies_ = by(objects, "NetworkPolicy", "dns-egress")
    assert {p["metadata"]["namespace"] for p in policies_} == {"runners", "registry", "monitoring"}
    rule = policies_[0]["spec"]["egress"][0]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert rule["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert not by(objects, "NetworkPolicy", "dns-ingress")


def test_apiserver_flow_goes_to_the_apiserver_addresses():
    objects = compile_flows(
        [{"name": "api", "from": "runners", "to": "apiserver"}],
        apiserver_cidrs=["192.168.1.10/32", "192.168.1.11/32"],
        apiserver_port=6443,
    )
    rule = one(objects, "NetworkPolicy", "api-egress", "runners")["spec"]["egress"][0]
    assert rule == {
        "to": [{"ipBlock": {"cidr": "192.168.1.10/32"}}, {"ipBlock": {"cidr": "192.168.1.11/32"}}],
        "ports": [{"port": 6443, "protocol": "TCP"}],
    }


def test_cidr_source_and_destination():
    objects = compile_flows(
        [
            {
                "name": "web",
                "from": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]},
                "to": "registry",
                "ports": ["http"],
            },
            {"name": "out", "from": "runners", "to": {"cidr": "203.0.113.0/24"}, "ports": ["443/TCP"]},
        ]
    )
    ingress = one(objects, "NetworkPolicy", "web-ingress", "registry")["spec"]["ingress"][0]
    assert ingress["from"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]
    assert not by(objects, "NetworkPolicy", "web-egress")
    egress = one(objects, "NetworkPolicy", "out-egress", "runners")["spec"]["egress"][0]
    assert egress == {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"port": 443, "protocol": "TCP"}]}


def test_flow_names_default_to_from_and_to():
    objects = compile_flows([{"from": "runners", "to": "registry", "ports": [8080]}])
    assert one(objects, "NetworkPolicy", "runners-to-registry-egress", "runners")


def test_udp_named_port():
    objects = compile_flows([{"name": "f", "from": "runners", "to": "monitoring", "ports": ["dns-cache", "metrics"]}])
    ports = one(objects, "NetworkPolicy", "f-ingress", "monitoring")["spec"]["ingress"][0]["ports"]
    assert ports == [{"port": 53, "protocol": "UDP"}, {"port": 9100, "protocol": "TCP"}]


def test_flows_are_not_changed():
    flows = [{"name": "f", "from": "all", "to": "registry", "ports": ["http"]}]
    before = copy.deepcopy(flows)
    compile_flows(flows)
    assert flows == before


@pytest.mark.parametrize(
    ("flows", "message"),
    [
        ({"from": "a"}, "expected a list of flows"),
        (["runners"], "flow 0: expected a mapping"),
        ([{"name": "f", "to": "registry", "ports": [1]}], "flow 'f': needs both from and to"),
        (
            [{"name": "f", "from": "runner", "to": "registry", "ports": [1]}],
            "flow 'f': from: unknown namespace 'runner'",
        ),
        (
            [{"name": "f", "from": "runners", "to": "regsitry", "ports": [1]}],
            "flow 'f': to: unknown namespace 'regsitry'",
        ),
        ([{"name": "f", "from": ["runners", "nope"], "to": "registry", "ports": [1]}], "unknown namespace 'nope'"),
        ([{"name": "f", "from": [], "to": "registry", "ports": [1]}], "expected 'all', a namespace or a list"),
        (
            [{"name": "f", "from": ["runners", "runners"], "to": "registry", "ports": [1]}],
            "a namespace is listed twice",
        ),
        (
            [{"name": "f", "from": "runners", "to": "registry", "ports": ["htp"]}],
            "flow 'f': port 'htp' is not defined in namespace registry (known: http)",
        ),
        (
            [{"name": "f", "from": "runners", "to": "all", "ports": ["http"]}],
            "port 'http' is not defined in namespace runners (known: none)",
        ),
        ([{"name": "f", "from": "runners", "to": "registry", "ports": [0]}], "port 0 is outside 1-65535"),
        ([{"name": "f", "from": "runners", "to": "registry", "ports": [65536]}], "port 65536 is outside 1-65535"),
        ([{"name": "f", "from": "runners", "to": "registry", "ports": ["80/HTTP"]}], "protocol 'HTTP'"),
        ([{"name": "f", "from": "runners", "to": "registry", "ports": ["8x"]}], "port '8x' is not a number"),
        ([{"name": "f", "from": "runners", "to": "registry", "ports": [True]}], "port True is not a port number"),
        ([{"name": "f", "from": "runners", "to": "registry"}], "flow 'f': ports must be a non-empty list"),
        ([{"name": "f", "from": "runners", "to": "registry", "ports": []}], "ports must be a non-empty list"),
        ([{"name": "f", "from": "runners", "to": "registry", "port": [1]}], "flow 'f': unknown keys port"),
        ([{"name": "f", "from": "dns", "to": "registry", "ports": [1]}], "'dns' can only be a destination"),
        ([{"name": "f", "from": "apiserver", "to": "registry", "ports": [1]}], "'apiserver' can only be a destination"),
        (
            [{"name": "f", "from": "runners", "to": "dns", "ports": [53]}],
            "the dns destination has fixed pods and ports",
        ),
        (
            [{"name": "f", "from": "runners", "to": "apiserver", "ports": [443]}],
            "the apiserver destination has a fixed port",
        ),
        (
            [{"name": "f", "from": {"cidr": "10.0.0.0/8"}, "to": {"cidr": "0.0.0.0/0"}, "ports": [1]}],
            "a flow between two external peers",
        ),
        ([{"name": "f", "from": {"cidr": "10.0.0.1/8"}, "to": "registry", "ports": [1]}], "is not a network in CIDR"),
        (
            [
                {
                    "name": "f",
                    "from": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]},
                    "to": "registry",
                    "ports": [1],
                }
            ],
            "except network 192.168.0.0/16 is not inside 10.0.0.0/8",
        ),
        ([{"name": "f", "from": {"net": "10.0.0.0/8"}, "to": "registry", "ports": [1]}], "from: unknown keys net"),
        (
            [{"name": "f", "from": "runners", "to": {"cidr": "10.0.0.0/8"}, "ports": ["http"]}],
            "port 'http' is not defined in an external peer: use numbers",
        ),
        (
            [{"name": "f", "from": "runners", "to": {"cidr": "10.0.0.0/8"}, "to_pods": {"a": "b"}, "ports": [1]}],
            "to_pods needs a namespace destination",
        ),
        (
            [
                {"name": "f", "from": "runners", "to": "registry", "ports": [1]},
                {"name": "f", "from": "monitoring", "to": "registry", "ports": [1]},
            ],
            "flow 'f': the name is used by another flow",
        ),
        ([{"name": "Flow", "from": "runners", "to": "registry", "ports": [1]}], "name 'Flow' is not a valid name"),
        ([{"name": "f" * 56, "from": "runners", "to": "registry", "ports": [1]}], "at most 55 characters"),
    ],
)
def test_bad_flows_are_refused_by_name(flows, message):
    with pytest.raises(AnsibleFilterError, match=r"^network_policies: ") as error:
        compile_flows(flows)
    assert message in str(error.value)


def test_apiserver_flow_needs_addresses():
    with pytest.raises(AnsibleFilterError, match="apiserver_cidrs is empty"):
        compile_flows([{"name": "f", "from": "runners", "to": "apiserver"}], apiserver_cidrs=[])


def test_bad_apiserver_cidr_refused():
    with pytest.raises(AnsibleFilterError, match=r"apiserver_cidrs: .* is not a network"):
        compile_flows([], apiserver_cidrs=["192.168.1.300/32"])


# RBAC

RUNNER_ROLE = {
    "name": "runner",
    "namespace": "runners",
    "rules": [
        {"resources": ["pods"], "verbs": ["get", "create"]},
        {"api_groups": ["batch"], "resources": ["jobs"], "verbs": ["get"]},
    ],
    "subjects": [{"name": "runner"}],
}


def test_role_and_binding():
    objects = rbac_objects([RUNNER_ROLE], NAMESPACES)
    role = one(objects, "Role", "runner", "runners")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "create"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]},
    ]
    binding = one(objects, "RoleBinding", "runner", "runners")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "runner"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "runner", "namespace": "runners"}]


def test_role_in_every_namespace_for_a_group():
    role = {
        "name": "viewer",
        "namespaces": "all",
        "rules": [{"resources": ["pods"], "verbs": ["list"], "resource_names": ["x"]}],
        "subjects": [{"kind": "Group", "name": "homelab:operators"}],
    }
    objects = rbac_objects([role], NAMESPACES)
    assert {o["metadata"]["namespace"] for o in by(objects, "Role", "viewer")} == {"runners", "registry", "monitoring"}
    assert by(objects, "Role", "viewer")[0]["rules"][0]["resourceNames"] == ["x"]
    assert one(objects, "RoleBinding", "viewer", "registry")["subjects"] == [
        {"kind": "Group", "name": "homelab:operators", "apiGroup": "rbac.authorization.k8s.io"}
    ]


def test_service_accounts_without_token_unless_a_reason_is_given():
    objects = rbac_objects(
        [],
        NAMESPACES,
        service_accounts=[
            {"name": "quiet", "namespace": "runners"},
            {"name": "runner", "namespace": "runners", "automount": True, "reason": "starts job pods"},
        ],
    )
    assert one(objects, "ServiceAccount", "quiet")["automountServiceAccountToken"] is False
    runner = one(objects, "ServiceAccount", "runner")
    assert runner["automountServiceAccountToken"] is True
    assert runner["metadata"]["annotations"] == {"homelab.k8s/reason": "starts job pods"}


def role_with(**changes):
    role = copy.deepcopy(RUNNER_ROLE)
    role.update(changes)
    return role


@pytest.mark.parametrize(
    ("roles", "accounts", "message"),
    [
        ([role_with(rules=[{"resources": ["pods"], "verbs": ["*"]}])], [], "rule 0: wildcard verbs ['*']"),
        ([role_with(rules=[{"resources": ["*"], "verbs": ["get"]}])], [], "wildcard resources ['*']"),
        ([role_with(rules=[{"resources": ["pods/*"], "verbs": ["get"]}])], [], "wildcard resources ['pods/*']"),
        (
            [role_with(rules=[{"api_groups": ["*"], "resources": ["pods"], "verbs": ["get"]}])],
            [],
            "wildcard api_groups",
        ),
        ([role_with(rules=[{"resources": ["roles"], "verbs": ["escalate"]}])], [], "verb 'escalate' lets the holder"),
        ([role_with(rules=[{"resources": ["rolebindings"], "verbs": ["bind"]}])], [], "verb 'bind'"),
        ([role_with(rules=[{"resources": ["users"], "verbs": ["impersonate"]}])], [], "verb 'impersonate'"),
        ([role_with(rules=[{"resources": ["pods"], "verbs": []}])], [], "verbs: expected a non-empty list"),
        ([role_with(rules=[{"resources": ["pods"], "verb": ["get"]}])], [], "rule 0: unknown keys verb"),
        ([role_with(rules=[])], [], "rules must be a non-empty list"),
        ([role_with(namespace="nope")], [], "role 'runner': unknown namespace 'nope'"),
        ([role_with(namespaces=["runners"])], [], "give exactly one of namespace or namespaces"),
        ([role_with(subjects=[])], [], "subjects must be a non-empty list"),
        ([role_with(subjects=[{"kind": "Robot", "name": "x"}])], [], "subject kind 'Robot'"),
        ([role_with(subjects=[{"kind": "User"}])], [], "every subject needs a name"),
        ([role_with(subjects=[{"name": "x", "namespace": "nope"}])], [], "subject 'x' is in unknown namespace 'nope'"),
        ([role_with(name="Runner")], [], "name 'Runner' is not a valid name"),
        ([role_with(verbs=["get"])], [], "unknown keys verbs"),
        ([], [{"name": "x", "namespace": "nope"}], "service account nope/x: unknown namespace 'nope'"),
        ([], [{"name": "x", "namespace": "runners", "automount": True}], "automount needs a reason"),
        ([], [{"name": "x", "namespace": "runners", "automount": "yes"}], "automount must be true or false"),
        ([], [{"name": "x", "namespace": "runners", "token": True}], "unknown keys token"),
    ],
)
def test_bad_rbac_is_refused_by_name(roles, accounts, message):
    with pytest.raises(AnsibleFilterError, match=r"^rbac_objects: ") as error:
        rbac_objects(roles, NAMESPACES, service_accounts=accounts)
    assert message in str(error.value)


# Gatekeeper


def test_constraint_for_all_namespaces_excludes_exempt_ones_with_reasons():
    constraints = {
        "harbor-images": {
            "kind": "K8sHarborImages",
            "parameters": {"registries": ["harbor.example"]},
            "exempt": {"registry": "Harbor's own images"},
        }
    }
    (constraint,) = gatekeeper_constraints(
        constraints, NAMESPACES, TEMPLATES, exempt_namespaces={"kube-system": "system"}
    )
    assert constraint["apiVersion"] == "constraints.gatekeeper.sh/v1beta1"
    assert constraint["kind"] == "K8sHarborImages"
    assert constraint["spec"] == {
        "enforcementAction": "deny",
        "match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}], "excludedNamespaces": ["kube-system", "registry"]},
        "parameters": {"registries": ["harbor.example"]},
    }
    assert constraint["metadata"]["annotations"] == {
        "argocd.argoproj.io/sync-wave": "1",
        "argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true",
        "exempt.homelab.k8s/kube-system": "system",
        "exempt.homelab.k8s/registry": "Harbor's own images",
    }


def test_restricted_scope_lists_the_restricted_namespaces():
    namespaces = [*NAMESPACES, {"name": "web"}]
    constraints = {"non-root": {"kind": "K8sRunAsNonRoot", "scope": "restricted", "enforcement_action": "dryrun"}}
    (constraint,) = gatekeeper_constraints(constraints, namespaces, TEMPLATES, exempt_namespaces={"kube-system": "s"})
    assert constraint["spec"]["enforcementAction"] == "dryrun"
    assert constraint["spec"]["match"]["namespaces"] == ["runners", "web"]
    assert "excludedNamespaces" not in constraint["spec"]["match"]
    assert "parameters" not in constraint["spec"]
    assert not [key for key in constraint["metadata"]["annotations"] if key.startswith("exempt.")]


def test_restricted_scope_includes_a_lower_level_namespace_by_name_with_its_reason():
    namespaces = [*NAMESPACES, {"name": "web"}]
    constraints = {"non-root": {"kind": "K8sRunAsNonRoot", "scope": "restricted", "include": {"registry": "non-root"}}}
    (constraint,) = gatekeeper_constraints(constraints, namespaces, TEMPLATES)
    assert constraint["spec"]["match"]["namespaces"] == ["runners", "registry", "web"]
    assert constraint["metadata"]["annotations"]["include.homelab.k8s/registry"] == "non-root"


@pytest.mark.parametrize(
    ("constraints", "exempt", "message"),
    [
        ({"c": {"kind": "K8sNope"}}, {}, "constraint c: unknown template kind 'K8sNope'"),
        ({"c": {"kind": "K8sRunAsNonRoot", "include": {"registry": "r"}}}, {}, "c: include needs scope restricted"),
        (
            {"c": {"kind": "K8sRunAsNonRoot", "scope": "restricted", "include": {"nope": "r"}}},
            {},
            "included namespace 'nope' is unknown",
        ),
        (
            {"c": {"kind": "K8sRunAsNonRoot", "scope": "restricted", "include": {"registry": ""}}},
            {},
            "included namespace registry needs a reason",
        ),
        (
            {
                "c": {
                    "kind": "K8sRunAsNonRoot",
                    "scope": "restricted",
                    "include": {"registry": "r"},
                    "exempt": {"registry": "r"},
                }
            },
            {},
            "namespace registry is both included and exempt",
        ),
        ({"c": {"kind": "K8sRunAsNonRoot", "enforcement_action": "block"}}, {}, "enforcement_action 'block'"),
        ({"c": {"kind": "K8sRunAsNonRoot", "scope": "some"}}, {}, "scope 'some'"),
        ({"c": {"kind": "K8sRunAsNonRoot", "exempt": {"nope": "x"}}}, {}, "exempt namespace 'nope' is unknown"),
        ({"c": {"kind": "K8sRunAsNonRoot", "exempt": {"runners": ""}}}, {}, "exempt namespace runners needs a reason"),
        ({"c": {"kind": "K8sRunAsNonRoot", "exempted": {}}}, {}, "constraint c: unknown keys exempted"),
        ({"c": {"kind": "K8sRunAsNonRoot", "parameters": ["x"]}}, {}, "parameters must be a mapping"),
        (
            {"c": {"kind": "K8sRunAsNonRoot", "scope": "restricted", "exempt": {"runners": "r"}}},
            {},
            "no restricted namespace is left in scope",
        ),
        ({"C": {"kind": "K8sRunAsNonRoot"}}, {}, "constraint 'C' is not a valid name"),
        ({}, {"kube-system": ""}, "exempt namespace kube-system needs a reason"),
        ({}, {"runners": "x"}, "exempt namespace runners is managed by this role"),
    ],
)
def test_bad_constraints_are_refused_by_name(constraints, exempt, message):
    with pytest.raises(AnsibleFilterError, match=r"^gatekeeper_constraints: ") as error:
        gatekeeper_constraints(constraints, NAMESPACES, TEMPLATES, exempt_namespaces=exempt)
    assert message in str(error.value)


# Manifests


def test_manifest_yaml_writes_documents_in_key_order():
    objects = [
        {"kind": "A", "apiVersion": "v1", "metadata": {"name": "a"}},
        {"kind": "B", "spec": {"n": 1, "on": True}},
    ]
    text = policies.manifest_yaml(objects)
    assert text == "---\nkind: A\napiVersion: v1\nmetadata:\n  name: a\n---\nkind: B\nspec:\n  n: 1\n  'on': true\n"
    assert list(yaml.safe_load_all(text)) == objects


def test_manifest_yaml_writes_rego_as_a_literal_block():
    rego = 'package x\n\nviolation contains {"msg": msg} if {\n\tmsg := "a: b #c"   \n}'
    text = policies.manifest_yaml({"spec": {"rego": rego, "quoted": "it's: 1"}})
    assert "  rego: |-\n    package x\n\n    violation contains" in text
    assert '\n        msg := "a: b #c"\n' in text
    assert yaml.safe_load(text)["spec"] == {"rego": rego.expandtabs(4).replace("   \n", "\n"), "quoted": "it's: 1"}


def test_manifest_yaml_accepts_str_subclasses():
    class Tagged(str):
        pass

    class TaggedInt(int):
        pass

    assert policies.manifest_yaml({"name": Tagged("x"), "port": TaggedInt(6443)}) == "---\nname: x\nport: 6443\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("text", "expected an object or a list"),
        (["text"], "expected a Kubernetes object"),
        ({"a": {1, 2}}, "cannot write"),
    ],
)
def test_manifest_yaml_refuses_what_is_not_an_object(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        policies.manifest_yaml(value)
