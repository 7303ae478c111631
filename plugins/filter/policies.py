# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile the policies role's compact data into Kubernetes objects.

Users describe namespaces (Pod Security level, quota, limits, named ports), flows between them,
RBAC roles and Gatekeeper constraints; these pure filters turn that into Namespaces,
ResourceQuotas, LimitRanges, NetworkPolicies, ServiceAccounts, Roles, RoleBindings and
Constraints. Every filter refuses bad input with an AnsibleFilterError that names the filter,
the entry and the bad value, before anything is applied.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import re

import yaml
from ansible.errors import AnsibleFilterError

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QUANTITY = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")
LEVELS = ("privileged", "baseline", "restricted")
PROTOCOLS = ("TCP", "UDP", "SCTP")
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
MANAGED_BY = {"app.kubernetes.io/managed-by": "homelab.k8s"}
REASON_ANNOTATION = "homelab.k8s/reason"
EXEMPT_ANNOTATION_PREFIX = "exempt.homelab.k8s/"
INCLUDE_ANNOTATION_PREFIX = "include.homelab.k8s/"
ARGOCD_ANNOTATIONS = {
    "argocd.argoproj.io/sync-wave": "1",
    "argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true",
}
NAMESPACE_KEYS = {
    "name",
    "description",
    "owner",
    "pod_security",
    "pod_security_reason",
    "labels",
    "annotations",
    "quota",
    "limits",
    "ports",
    "allow_internal",
}
LIMIT_KEYS = {"default": "default", "default_request": "defaultRequest", "max": "max", "min": "min"}
FLOW_KEYS = {"name", "from", "from_pods", "to", "to_pods", "ports", "reason"}
SPECIAL_PEERS = ("dns", "apiserver")
ROLE_KEYS = {"name", "namespace", "namespaces", "rules", "subjects", "reason"}
RULE_KEYS = {"api_groups", "resources", "verbs", "resource_names"}
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")
SERVICE_ACCOUNT_KEYS = {"name", "namespace", "automount", "reason"}
CONSTRAINT_KEYS = {"kind", "enforcement_action", "parameters", "scope", "exempt", "include", "kinds"}
ENFORCEMENT_ACTIONS = ("deny", "dryrun", "warn")
SCOPES = ("all", "restricted")


def _fail(filter_name, message, *args):
    raise AnsibleFilterError("%s: %s" % (filter_name, message % args))


def _dns_label(value, what, filter_name, max_length=63):
    if not isinstance(value, str) or not DNS_LABEL.match(value) or len(value) > max_length:
        _fail(
            filter_name,
            "%s %r is not a valid name (lower case letters, digits and '-', at most %d characters)",
            what,
            value,
            max_length,
        )
    return value


def _mapping(value, what, filter_name):
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(filter_name, "%s must be a mapping, got %r", what, value)
    return value


def _unknown_keys(entry, allowed, what, filter_name):
    unknown = sorted(set(entry) - allowed)
    if unknown:
        _fail(filter_name, "%s: unknown keys %s (allowed: %s)", what, ", ".join(unknown), ", ".join(sorted(allowed)))


def _labels(value, what, filter_name):
    labels = _mapping(value, what, filter_name)
    for key, label in labels.items():
        if not isinstance(key, str) or not isinstance(label, str):
            _fail(filter_name, "%s: label %r=%r must be a string mapping to a string", what, key, label)
    return dict(labels)


def _merge(defaults, overrides):
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _pod_security(spec, filter_name):
    what = "namespace %s" % spec["name"]
    value = spec.get("pod_security", "restricted")
    if isinstance(value, str):
        levels = {"enforce": value, "audit": "restricted", "warn": "restricted"}
    else:
        levels = _mapping(value, what + ": pod_security", filter_name)
        _unknown_keys(levels, {"enforce", "audit", "warn"}, what + ": pod_security", filter_name)
        levels = _merge({"enforce": "restricted", "audit": "restricted", "warn": "restricted"}, levels)
    for mode, level in levels.items():
        if level not in LEVELS:
            _fail(filter_name, "%s: Pod Security %s level %r is not one of %s", what, mode, level, ", ".join(LEVELS))
    if levels["enforce"] != "restricted" and not spec.get("pod_security_reason"):
        _fail(
            filter_name,
            "%s: Pod Security enforce level %r needs pod_security_reason (why the namespace cannot be restricted)",
            what,
            levels["enforce"],
        )
    return levels


def _port(value, what, filter_name):
    """A port as (number, protocol) from 443, '443', '53/UDP'."""
    if isinstance(value, bool):
        _fail(filter_name, "%s: port %r is not a port number", what, value)
    number, protocol = value, "TCP"
    if isinstance(value, str):
        number, _sep, protocol = value.partition("/")
        protocol = protocol or "TCP"
        if not number.isdigit():
            _fail(filter_name, "%s: port %r is not a number or NUMBER/PROTOCOL", what, value)
        number = int(number)
    if not isinstance(number, int) or not 1 <= number <= 65535:
        _fail(filter_name, "%s: port %r is outside 1-65535", what, value)
    if protocol not in PROTOCOLS:
        _fail(filter_name, "%s: protocol %r of port %r is not one of %s", what, protocol, value, ", ".join(PROTOCOLS))
    return number, protocol


def _namespaces(namespaces, defaults, filter_name):
    """Validated namespace specs, defaults merged, by name (in input order)."""
    if not isinstance(namespaces, list) or not namespaces:
        _fail(filter_name, "expected a non-empty list of namespaces, got %r", namespaces)
    defaults = _mapping(defaults, "namespace defaults", filter_name)
    result = {}
    for entry in namespaces:
        if not isinstance(entry, dict) or "name" not in entry:
            _fail(filter_name, "every namespace needs a name, got %r", entry)
        name = _dns_label(entry["name"], "namespace", filter_name)
        if name in result:
            _fail(filter_name, "namespace %s is listed twice", name)
        spec = _merge(defaults, entry)
        _unknown_keys(spec, NAMESPACE_KEYS, "namespace %s" % name, filter_name)
        spec["pod_security"] = _pod_security(spec, filter_name)
        spec["labels"] = _labels(spec.get("labels"), "namespace %s: labels" % name, filter_name)
        spec["annotations"] = _labels(spec.get("annotations"), "namespace %s: annotations" % name, filter_name)
        ports = {}
        for port_name, port in _mapping(spec.get("ports"), "namespace %s: ports" % name, filter_name).items():
            if not isinstance(port_name, str) or not PORT_NAME.match(port_name) or port_name in SPECIAL_PEERS:
                _fail(filter_name, "namespace %s: port name %r is not a valid name", name, port_name)
            ports[port_name] = _port(port, "namespace %s: port %s" % (name, port_name), filter_name)
        spec["ports"] = ports
        spec.setdefault("allow_internal", True)
        result[name] = spec
    return result


def _quantities(values, what, filter_name):
    result = {}
    for key, value in _mapping(values, what, filter_name).items():
        if isinstance(value, bool) or value is None:
            _fail(filter_name, "%s: %s=%r is not a quantity", what, key, value)
        text = str(value)
        if not QUANTITY.match(text):
            _fail(filter_name, "%s: %s=%r is not a quantity such as 500m, 2 or 4Gi", what, key, value)
        result[key] = text
    return result


def policy_namespaces(namespaces, defaults=None, pod_security_version="latest"):
    """Namespace, its default ServiceAccount without a token, ResourceQuota and LimitRange per namespace."""
    name = "policy_namespaces"
    objects = []
    for ns, spec in _namespaces(namespaces, defaults, name).items():
        labels = dict(MANAGED_BY)
        labels.update(spec["labels"])
        if spec.get("owner"):
            labels["owner"] = _dns_label(spec["owner"], "namespace %s: owner" % ns, name)
        for mode, level in spec["pod_security"].items():
            labels["pod-security.kubernetes.io/%s" % mode] = level
            labels["pod-security.kubernetes.io/%s-version" % mode] = pod_security_version
        annotations = dict(spec["annotations"])
        if spec.get("description"):
            annotations["homelab.k8s/description"] = str(spec["description"])
        if spec["pod_security"]["enforce"] != "restricted":
            annotations["homelab.k8s/pod-security-reason"] = str(spec["pod_security_reason"])
        metadata = {"name": ns, "labels": labels}
        if annotations:
            metadata["annotations"] = annotations
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": ns, "labels": dict(MANAGED_BY)},
                "automountServiceAccountToken": False,
            }
        )
        quota = _quantities(spec.get("quota"), "namespace %s: quota" % ns, name)
        if quota:
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "ResourceQuota",
                    "metadata": {"name": "quota", "namespace": ns, "labels": dict(MANAGED_BY)},
                    "spec": {"hard": quota},
                }
            )
        limits = _mapping(spec.get("limits"), "namespace %s: limits" % ns, name)
        _unknown_keys(limits, set(LIMIT_KEYS), "namespace %s: limits" % ns, name)
        item = {"type": "Container"}
        for key, field in LIMIT_KEYS.items():
            values = _quantities(limits.get(key), "namespace %s: limits.%s" % (ns, key), name)
            if values:
                item[field] = values
        if len(item) > 1:
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "LimitRange",
                    "metadata": {"name": "limits", "namespace": ns, "labels": dict(MANAGED_BY)},
                    "spec": {"limits": [item]},
                }
            )
    return objects


# NetworkPolicies


def _selector(labels):
    return {"matchLabels": dict(labels)} if labels else {}


def _namespace_peer(names, pods):
    if len(names) == 1:
        peer = {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: names[0]}}}
    else:
        peer = {
            "namespaceSelector": {
                "matchExpressions": [{"key": NAMESPACE_LABEL, "operator": "In", "values": sorted(names)}]
            }
        }
    if pods:
        peer["podSelector"] = _selector(pods)
    return peer


def _cidr_peer(value, what, filter_name):
    value = _mapping(value, what, filter_name)
    _unknown_keys(value, {"cidr", "except"}, what, filter_name)
    try:
        network = ipaddress.ip_network(value.get("cidr"), strict=True)
        excepts = [ipaddress.ip_network(cidr, strict=True) for cidr in value.get("except") or []]
    except (TypeError, ValueError):
        _fail(filter_name, "%s: %r is not a network in CIDR notation with optional except networks", what, value)
    for excluded in excepts:
        if excluded.version != network.version or not excluded.subnet_of(network):
            _fail(filter_name, "%s: except network %s is not inside %s", what, excluded, network)
    block = {"cidr": str(network)}
    if excepts:
        block["except"] = [str(cidr) for cidr in excepts]
    return {"ipBlock": block}


def _flow_namespaces(value, known, what, filter_name):
    """Managed namespace names of a flow end ('all', a name or a list of names)."""
    if value == "all":
        return list(known)
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        _fail(filter_name, "%s: expected 'all', a namespace or a list of namespaces, got %r", what, value)
    for ns in names:
        if ns not in known:
            _fail(filter_name, "%s: unknown namespace %r (known: %s)", what, ns, ", ".join(sorted(known)))
    if len(set(names)) != len(names):
        _fail(filter_name, "%s: a namespace is listed twice in %r", what, names)
    return list(names)


def _flow_ports(ports, namespace, spec, what, filter_name):
    """[{port, protocol}] of a flow into ``namespace`` (named ports resolved there)."""
    if not isinstance(ports, list) or not ports:
        _fail(filter_name, "%s: ports must be a non-empty list, got %r", what, ports)
    result = []
    for port in ports:
        if isinstance(port, str) and not port[:1].isdigit():
            known = spec["ports"] if spec else {}
            if port not in known:
                _fail(
                    filter_name,
                    "%s: port %r is not defined in %s (known: %s)",
                    what,
                    port,
                    "namespace %s" % namespace if spec else "an external peer: use numbers",
                    ", ".join(sorted(known)) or "none",
                )
            number, protocol = known[port]
        else:
            number, protocol = _port(port, what, filter_name)
        entry = {"port": number, "protocol": protocol}
        if entry not in result:
            result.append(entry)
    return result


def _policy(namespace, name, pods, policy_types, rules, reason=None):
    metadata = {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)}
    if reason:
        metadata["annotations"] = {REASON_ANNOTATION: str(reason)}
    # A policy type without rules denies that direction. No empty rule list is written: the API
    # server drops it, and an applied object would then differ from its source on every run.
    spec = {"podSelector": _selector(pods), "policyTypes": policy_types}
    if "Ingress" in policy_types and rules.get("ingress"):
        spec["ingress"] = rules["ingress"]
    if "Egress" in policy_types and rules.get("egress"):
        spec["egress"] = rules["egress"]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


def network_policies(
    flows,
    namespaces,
    defaults=None,
    apiserver_cidrs=None,
    apiserver_port=6443,
    dns_namespace="kube-system",
    dns_pods=None,
):
    """NetworkPolicies: default deny in every namespace, then only the listed flows."""
    name = "network_policies"
    known = _namespaces(namespaces, defaults, name)
    dns_pods = {"k8s-app": "kube-dns"} if dns_pods is None else _labels(dns_pods, "dns_pods", name)
    _dns_label(dns_namespace, "dns_namespace", name)
    apiserver_peers = [_cidr_peer({"cidr": cidr}, "apiserver_cidrs", name) for cidr in apiserver_cidrs or []]
    apiserver = _port(apiserver_port, "apiserver_port", name)
    if not isinstance(flows, list):
        _fail(name, "expected a list of flows, got %r", flows)

    objects = []
    for ns, spec in known.items():
        objects.append(
            _policy(ns, "default-deny", {}, ["Ingress", "Egress"], {}, "deny all traffic not allowed by a flow")
        )
        if spec["allow_internal"]:
            same = [{"podSelector": {}}]
            objects.append(
                _policy(
                    ns,
                    "allow-same-namespace",
                    {},
                    ["Ingress", "Egress"],
                    {"ingress": [{"from": same}], "egress": [{"to": same}]},
                    "pods of one namespace reach each other; namespaces are isolated",
                )
            )

    names = set()
    for index, flow in enumerate(flows):
        if not isinstance(flow, dict):
            _fail(name, "flow %d: expected a mapping, got %r", index, flow)
        source, target = flow.get("from"), flow.get("to")
        label = flow.get("name")
        if label is None:
            label = "%s-to-%s" % (
                source if isinstance(source, str) else "cidr" if isinstance(source, dict) else "namespaces",
                target if isinstance(target, str) else "cidr" if isinstance(target, dict) else "namespaces",
            )
        what = "flow %r" % label
        _unknown_keys(flow, FLOW_KEYS, what, name)
        if source is None or target is None:
            _fail(name, "%s: needs both from and to", what)
        _dns_label(label, what + ": name", name, max_length=55)
        if label in names:
            _fail(name, "%s: the name is used by another flow; give each flow its own name", what)
        names.add(label)
        from_pods = _labels(flow.get("from_pods"), what + ": from_pods", name)
        to_pods = _labels(flow.get("to_pods"), what + ": to_pods", name)
        reason = flow.get("reason")

        if isinstance(source, dict):
            source_peer, sources = _cidr_peer(source, what + ": from", name), []
        elif source in SPECIAL_PEERS:
            _fail(name, "%s: %r can only be a destination (to)", what, source)
        else:
            source_peer, sources = None, _flow_namespaces(source, known, what + ": from", name)

        # egress from each managed source
        if isinstance(target, dict) or target in SPECIAL_PEERS:
            if source_peer is not None:
                _fail(name, "%s: a flow between two external peers is nothing to enforce", what)
            if target == "dns":
                if "ports" in flow or to_pods:
                    _fail(name, "%s: the dns destination has fixed pods and ports (53/UDP, 53/TCP)", what)
                peer = _namespace_peer([dns_namespace], dns_pods)
                ports = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
            elif target == "apiserver":
                if "ports" in flow or to_pods:
                    _fail(name, "%s: the apiserver destination has a fixed port (apiserver_port)", what)
                if not apiserver_peers:
                    _fail(name, "%s: apiserver_cidrs is empty: the API server's addresses are needed", what)
                peer = None
                ports = [{"port": apiserver[0], "protocol": apiserver[1]}]
            else:
                if to_pods:
                    _fail(name, "%s: to_pods needs a namespace destination", what)
                peer = _cidr_peer(target, what + ": to", name)
                ports = _flow_ports(flow.get("ports"), None, None, what, name)
            peers = apiserver_peers if target == "apiserver" else [peer]
            for ns in sources:
                objects.append(
                    _policy(
                        ns,
                        label + "-egress",
                        from_pods,
                        ["Egress"],
                        {"egress": [{"to": peers, "ports": ports}]},
                        reason,
                    )
                )
            continue

        targets = _flow_namespaces(target, known, what + ": to", name)
        ports_of = {ns: _flow_ports(flow.get("ports"), ns, known[ns], what, name) for ns in targets}
        for ns in sources:
            rules = [
                {"to": [_namespace_peer([target_ns], to_pods)], "ports": ports_of[target_ns]} for target_ns in targets
            ]
            objects.append(_policy(ns, label + "-egress", from_pods, ["Egress"], {"egress": rules}, reason))
        for ns in targets:
            if source_peer is not None:
                peers = [source_peer]
            else:
                if from_pods and len(sources) > 1:
                    peers = [_namespace_peer([s], from_pods) for s in sources]
                else:
                    peers = [_namespace_peer(sources, from_pods)]
            objects.append(
                _policy(
                    ns,
                    label + "-ingress",
                    to_pods,
                    ["Ingress"],
                    {"ingress": [{"from": peers, "ports": ports_of[ns]}]},
                    reason,
                )
            )
    return objects


# RBAC


def _strings(value, what, filter_name, allow_empty=False):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or (not value and not allow_empty):
        _fail(filter_name, "%s: expected a non-empty list of strings, got %r", what, value)
    for item in value:
        if not isinstance(item, str):
            _fail(filter_name, "%s: %r is not a string", what, item)
    return list(value)


def rbac_objects(roles, namespaces, defaults=None, service_accounts=None):
    """ServiceAccounts, least-privilege Roles and their RoleBindings, refusing wildcards."""
    name = "rbac_objects"
    known = _namespaces(namespaces, defaults, name)
    objects = []
    for index, account in enumerate(service_accounts or []):
        if not isinstance(account, dict):
            _fail(name, "service account %d: expected a mapping, got %r", index, account)
        what = "service account %s/%s" % (account.get("namespace"), account.get("name"))
        _unknown_keys(account, SERVICE_ACCOUNT_KEYS, what, name)
        _dns_label(account.get("name"), what + ": name", name, max_length=253)
        if account.get("namespace") not in known:
            _fail(name, "%s: unknown namespace %r (known: %s)", what, account.get("namespace"), ", ".join(known))
        automount = account.get("automount", False)
        if not isinstance(automount, bool):
            _fail(name, "%s: automount must be true or false, got %r", what, automount)
        if automount and not account.get("reason"):
            _fail(name, "%s: automount needs a reason (why the workload calls the API server)", what)
        metadata = {"name": account["name"], "namespace": account["namespace"], "labels": dict(MANAGED_BY)}
        if account.get("reason"):
            metadata["annotations"] = {REASON_ANNOTATION: str(account["reason"])}
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": metadata,
                "automountServiceAccountToken": automount,
            }
        )

    for index, role in enumerate(roles or []):
        if not isinstance(role, dict):
            _fail(name, "role %d: expected a mapping, got %r", index, role)
        what = "role %r" % role.get("name")
        _unknown_keys(role, ROLE_KEYS, what, name)
        _dns_label(role.get("name"), what + ": name", name, max_length=253)
        if ("namespace" in role) == ("namespaces" in role):
            _fail(name, "%s: give exactly one of namespace or namespaces", what)
        targets = _flow_namespaces(role.get("namespace", role.get("namespaces")), known, what, name)
        rules = []
        if not isinstance(role.get("rules"), list) or not role["rules"]:
            _fail(name, "%s: rules must be a non-empty list", what)
        for number, rule in enumerate(role["rules"]):
            rule_what = "%s rule %d" % (what, number)
            rule = _mapping(rule, rule_what, name)
            _unknown_keys(rule, RULE_KEYS, rule_what, name)
            verbs = _strings(rule.get("verbs"), rule_what + ": verbs", name)
            resources = _strings(rule.get("resources"), rule_what + ": resources", name)
            groups = _strings(rule.get("api_groups", [""]), rule_what + ": api_groups", name)
            for field, values in (("verbs", verbs), ("resources", resources), ("api_groups", groups)):
                if any("*" in value for value in values):
                    _fail(
                        name,
                        "%s: wildcard %s %r: list what the role needs (wildcards are for cluster-admin only)",
                        rule_what,
                        field,
                        values,
                    )
            for verb in ("escalate", "bind", "impersonate"):
                if verb in verbs:
                    _fail(name, "%s: verb %r lets the holder gain rights it was not given", rule_what, verb)
            compiled = {"apiGroups": groups, "resources": resources, "verbs": verbs}
            if rule.get("resource_names"):
                compiled["resourceNames"] = _strings(rule["resource_names"], rule_what + ": resource_names", name)
            rules.append(compiled)
        subjects = []
        for subject in role.get("subjects") or []:
            subject = _mapping(subject, what + ": subject", name)
            kind = subject.get("kind", "ServiceAccount")
            if kind not in SUBJECT_KINDS:
                _fail(name, "%s: subject kind %r is not one of %s", what, kind, ", ".join(SUBJECT_KINDS))
            if not isinstance(subject.get("name"), str) or not subject["name"]:
                _fail(name, "%s: every subject needs a name, got %r", what, subject)
            subjects.append(subject)
        if not subjects:
            _fail(name, "%s: subjects must be a non-empty list", what)
        for ns in targets:
            metadata = {"name": role["name"], "namespace": ns, "labels": dict(MANAGED_BY)}
            if role.get("reason"):
                metadata["annotations"] = {REASON_ANNOTATION: str(role["reason"])}
            objects.append(
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata, "rules": rules}
            )
            bound = []
            for subject in subjects:
                entry = {"kind": subject.get("kind", "ServiceAccount"), "name": subject["name"]}
                if entry["kind"] == "ServiceAccount":
                    entry["namespace"] = subject.get("namespace", ns)
                    if entry["namespace"] not in known:
                        _fail(
                            name, "%s: subject %r is in unknown namespace %r", what, subject["name"], entry["namespace"]
                        )
                else:
                    entry["apiGroup"] = "rbac.authorization.k8s.io"
                bound.append(entry)
            objects.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": dict(metadata),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["name"]},
                    "subjects": bound,
                }
            )
    return objects


# Gatekeeper


def gatekeeper_constraints(constraints, namespaces, templates, defaults=None, exempt_namespaces=None):
    """Gatekeeper Constraints of Pods: enforcement action, scope and exempt namespaces with their reasons."""
    name = "gatekeeper_constraints"
    known = _namespaces(namespaces, defaults, name)
    kinds = {}
    for template in templates or []:
        kinds[template["kind"]] = template
    exempt_all = _mapping(exempt_namespaces, "exempt_namespaces", name)
    for ns, reason in exempt_all.items():
        _dns_label(ns, "exempt namespace", name)
        if ns in known:
            _fail(name, "exempt namespace %s is managed by this role: exempt it per constraint instead", ns)
        if not reason:
            _fail(name, "exempt namespace %s needs a reason", ns)
    restricted = [ns for ns, spec in known.items() if spec["pod_security"]["enforce"] == "restricted"]
    objects = []
    for constraint_name, spec in _mapping(constraints, "constraints", name).items():
        what = "constraint %s" % constraint_name
        _dns_label(constraint_name, "constraint", name, max_length=253)
        spec = _mapping(spec, what, name)
        _unknown_keys(spec, CONSTRAINT_KEYS, what, name)
        kind = spec.get("kind")
        if kind not in kinds:
            _fail(name, "%s: unknown template kind %r (known: %s)", what, kind, ", ".join(sorted(kinds)))
        action = spec.get("enforcement_action", "deny")
        if action not in ENFORCEMENT_ACTIONS:
            _fail(name, "%s: enforcement_action %r is not one of %s", what, action, ", ".join(ENFORCEMENT_ACTIONS))
        scope = spec.get("scope", "all")
        if scope not in SCOPES:
            _fail(name, "%s: scope %r is not one of %s", what, scope, ", ".join(SCOPES))
        exempt = _mapping(spec.get("exempt"), what + ": exempt", name)
        for ns, reason in exempt.items():
            if ns not in known:
                _fail(name, "%s: exempt namespace %r is unknown (known: %s)", what, ns, ", ".join(known))
            if not reason:
                _fail(name, "%s: exempt namespace %s needs a reason", what, ns)
        # scope restricted: a namespace of a lower level whose pods still meet this constraint is brought in by name
        include = _mapping(spec.get("include"), what + ": include", name)
        if include and scope != "restricted":
            _fail(name, "%s: include needs scope restricted (scope all already covers every namespace)", what)
        for ns, reason in include.items():
            if ns not in known:
                _fail(name, "%s: included namespace %r is unknown (known: %s)", what, ns, ", ".join(known))
            if ns in exempt:
                _fail(name, "%s: namespace %s is both included and exempt", what, ns)
            if not reason:
                _fail(name, "%s: included namespace %s needs a reason", what, ns)
        # A Constraint's kind exists only once Gatekeeper has compiled its template: Argo CD syncs it after
        # the templates and does not dry-run it before its kind exists.
        annotations = dict(ARGOCD_ANNOTATIONS)
        if scope == "all":
            annotations.update(
                {EXEMPT_ANNOTATION_PREFIX + ns: str(reason) for ns, reason in sorted(exempt_all.items())}
            )
        annotations.update({EXEMPT_ANNOTATION_PREFIX + ns: str(reason) for ns, reason in sorted(exempt.items())})
        annotations.update({INCLUDE_ANNOTATION_PREFIX + ns: str(reason) for ns, reason in sorted(include.items())})
        match = {"kinds": spec.get("kinds") or [{"apiGroups": [""], "kinds": ["Pod"]}]}
        if scope == "restricted":
            in_scope = [ns for ns in known if (ns in restricted or ns in include) and ns not in exempt]
            if not in_scope:
                _fail(name, "%s: no restricted namespace is left in scope", what)
            match["namespaces"] = in_scope
        else:
            match["excludedNamespaces"] = sorted(set(exempt_all) | set(exempt))
        constraint = {
            "apiVersion": "constraints.gatekeeper.sh/v1beta1",
            "kind": kind,
            "metadata": {"name": constraint_name, "labels": dict(MANAGED_BY)},
            "spec": {"enforcementAction": action, "match": match},
        }
        constraint["metadata"]["annotations"] = annotations
        parameters = _mapping(spec.get("parameters"), what + ": parameters", name)
        if parameters:
            constraint["spec"]["parameters"] = parameters
        objects.append(constraint)
    return objects


# Manifests


class _ManifestDumper(yaml.SafeDumper):
    """Block style everywhere; multi-line strings (Rego) as literal blocks, readable in a GitOps review."""


def _represent_str(dumper, data):
    if "\n" in data:
        # A literal block cannot hold tabs or trailing spaces: Rego means the same with spaces.
        lines = [line.rstrip() for line in data.expandtabs(4).split("\n")]
        return dumper.represent_scalar("tag:yaml.org,2002:str", "\n".join(lines), style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_ManifestDumper.add_representer(str, _represent_str)


def _plain(value, filter_name):
    """The object tree as plain dicts, lists, strings, numbers, booleans and None."""
    if isinstance(value, dict):
        return {str(key): _plain(item, filter_name) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, filter_name) for item in value]
    if isinstance(value, str):
        return str(value)
    if value is None:
        return None
    # Ansible passes tagged subclasses of the plain types: write them as the plain type.
    for plain in (bool, int, float):
        if isinstance(value, plain):
            return plain(value)
    _fail(filter_name, "cannot write %r (%s) as YAML", value, type(value).__name__)
    return None


def manifest_yaml(objects):
    """Kubernetes objects as one YAML stream, each document after '---', keys in the objects' order."""
    name = "manifest_yaml"
    if isinstance(objects, dict):
        objects = [objects]
    if not isinstance(objects, list):
        _fail(name, "expected an object or a list of objects, got %r", objects)
    documents = []
    for obj in objects:
        if not isinstance(obj, dict):
            _fail(name, "expected a Kubernetes object (a mapping), got %r", obj)
        text = yaml.dump(
            _plain(obj, name), Dumper=_ManifestDumper, sort_keys=False, default_flow_style=False, width=120
        )
        documents.append("---\n" + text)
    return "".join(documents)


class FilterModule:
    def filters(self):
        return {
            "policy_namespaces": policy_namespaces,
            "network_policies": network_policies,
            "rbac_objects": rbac_objects,
            "gatekeeper_constraints": gatekeeper_constraints,
            "manifest_yaml": manifest_yaml,
        }
