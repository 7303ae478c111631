# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure filters for kubeadm clusters: CA public key pins, service addresses, encryption providers,
the review of kubelet serving certificate requests, the labels a Node still needs.

Each raises AnsibleFilterError naming the bad value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import ipaddress
import re

from ansible.errors import AnsibleFilterError

try:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from cryptography.x509.oid import NameOID
except ImportError:  # pragma: no cover - ansible-core requires cryptography on the controller
    x509 = None

_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.DOTALL)
ENCRYPTION_PROVIDERS = ("secretbox", "aescbc", "aesgcm")


def kubeadm_ca_cert_hash(pem):
    """The ``sha256:<hex>`` pin of a CA certificate's SubjectPublicKeyInfo, as ``kubeadm join`` expects.

    The certificate is parsed by ``cryptography`` (a requirement of ansible-core on the controller);
    the pin is the SHA-256 of the DER SubjectPublicKeyInfo, as kubeadm's pubkeypin package computes it.
    """
    name = "kubeadm_ca_cert_hash"
    if not isinstance(pem, str):
        raise AnsibleFilterError("%s: expected a PEM certificate string, got %r" % (name, type(pem).__name__))
    match = _PEM_CERTIFICATE.search(pem)
    if not match:
        raise AnsibleFilterError("%s: no '-----BEGIN CERTIFICATE-----' block in the input" % name)
    try:
        certificate = x509.load_pem_x509_certificate(match.group(0).encode("ascii"))
        spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise AnsibleFilterError("%s: the first certificate of the input cannot be read: %s" % (name, exc)) from None
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def kubeadm_service_ip(cidr, index):
    """The ``index``-th address of the service network (1: the API server service, 10: cluster DNS)."""
    name = "kubeadm_service_ip"
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        raise AnsibleFilterError("%s: %r is not a network in CIDR notation" % (name, cidr)) from None
    if isinstance(index, bool) or not isinstance(index, int) or index < 1 or index >= network.num_addresses - 1:
        raise AnsibleFilterError("%s: index %r is outside %s" % (name, index, cidr))
    return str(network.network_address + index)


def _encrypting_providers(config, name):
    """The encrypting providers of a parsed EncryptionConfiguration, in order, as one-key dicts."""
    if config in (None, ""):
        return []
    if not isinstance(config, dict) or config.get("kind") != "EncryptionConfiguration":
        raise AnsibleFilterError(
            "%s: expected a parsed EncryptionConfiguration, got %r" % (name, type(config).__name__)
        )
    found = []
    for resource in config.get("resources") or []:
        for provider in resource.get("providers") or []:
            for provider_name in ENCRYPTION_PROVIDERS:
                if (provider.get(provider_name) or {}).get("keys"):
                    found.append({provider_name: provider[provider_name]})
    return found


def encryption_providers(config, provider, new_secret="", rotate=False):
    """The providers an EncryptionConfiguration must list to encrypt with ``provider``.

    ``config`` is the existing configuration (parsed, or empty). When it already encrypts with
    ``provider``, its providers are kept as they are. Otherwise ``provider`` comes first with a
    key ``new_secret`` under a new name (``homelab-<n>``), and the providers of before follow,
    so the API server still reads every Secret written with them until a rotation has rewritten
    all Secrets. ``identity`` (read-only, for what was stored unencrypted) is not included.
    Answers None when a new key is needed and ``new_secret`` is empty. ``rotate`` asks for a new key
    first even when the configuration already encrypts with ``provider`` (a key rotation).
    """
    name = "encryption_providers"
    if provider not in ENCRYPTION_PROVIDERS:
        raise AnsibleFilterError("%s: provider %r is not one of %s" % (name, provider, ", ".join(ENCRYPTION_PROVIDERS)))
    existing = _encrypting_providers(config, name)
    if existing and provider in existing[0] and not rotate:
        return existing
    if not new_secret:
        return None
    if not isinstance(new_secret, str):
        raise AnsibleFilterError("%s: the new key must be a base64 string, got %r" % (name, type(new_secret).__name__))
    numbers = [0]
    for entry in existing:
        for key in next(iter(entry.values()))["keys"]:
            match = re.match(r"^homelab-(\d+)$", str(key.get("name", "")))
            if match:
                numbers.append(int(match.group(1)))
    key_name = "homelab-%d" % (max(numbers) + 1)
    return [{provider: {"keys": [{"name": key_name, "secret": new_secret}]}}, *existing]


SERVING_SIGNER = "kubernetes.io/kubelet-serving"
SERVING_USAGES = {"digital signature", "key encipherment", "server auth"}
NODE_DNS_TYPES = ("Hostname", "InternalDNS", "ExternalDNS")
NODE_IP_TYPES = ("InternalIP", "ExternalIP")


def _csr_refusal(csr, nodes):
    """Why a kubelet-serving request must not be approved, or None when it is the node's own."""
    spec = csr.get("spec") or {}
    username = spec.get("username") or ""
    if not username.startswith("system:node:"):
        return "requested by %r, not by a node" % username
    node_name = username[len("system:node:") :]
    if "system:nodes" not in (spec.get("groups") or []):
        return "requester %s is not in the group system:nodes" % username
    node = nodes.get(node_name)
    if node is None:
        return "node %s is not a node of this cluster" % node_name
    usages = set(spec.get("usages") or [])
    if "server auth" not in usages or not usages <= SERVING_USAGES:
        return "usages %s are not those of a serving certificate (%s)" % (sorted(usages), sorted(SERVING_USAGES))
    try:
        request = x509.load_pem_x509_csr(base64.b64decode(spec.get("request") or ""))
    except (ValueError, TypeError, binascii.Error):
        return "the request is not a PEM certificate request"
    common_names = [a.value for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    organizations = [a.value for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if common_names != [username] or organizations != ["system:nodes"]:
        return "subject CN=%s O=%s is not CN=%s O=system:nodes" % (common_names, organizations, username)
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "the request names no DNS name or IP address"
    addresses = (node.get("status") or {}).get("addresses") or []
    own_dns = {a["address"] for a in addresses if a.get("type") in NODE_DNS_TYPES} | {node_name}
    own_ips = {ipaddress.ip_address(a["address"]) for a in addresses if a.get("type") in NODE_IP_TYPES}
    dns_names = sans.get_values_for_type(x509.DNSName)
    ips = sans.get_values_for_type(x509.IPAddress)
    others = [n for n in sans if not isinstance(n, (x509.DNSName, x509.IPAddress))]
    if others:
        return "the request names more than DNS names and IP addresses: %s" % ", ".join(map(str, others))
    if not dns_names and not ips:
        return "the request names no DNS name or IP address"
    foreign = sorted(set(dns_names) - own_dns) + sorted(str(ip) for ip in set(ips) - own_ips)
    if foreign:
        return "%s not addresses of node %s (it has %s)" % (
            ", ".join(foreign),
            node_name,
            ", ".join(sorted(own_dns) + sorted(str(ip) for ip in own_ips)),
        )
    return None


def kubelet_serving_csr_review(csrs, nodes):
    """Review the pending kubelet serving certificate requests of a cluster.

    ``csrs`` and ``nodes`` are CertificateSigningRequest and Node objects (as ``kubectl get -o json``
    lists them). Answers one entry per pending ``kubernetes.io/kubelet-serving`` request:
    ``{name, node, approve, reason}``. A request is approved only when a node asks for its own name
    and addresses: requester ``system:node:<name>`` of group ``system:nodes``, a Node of that name,
    subject ``CN=system:node:<name>, O=system:nodes``, serving usages, and every DNS name and IP
    address of the request among the Node's addresses (or its name).
    """
    name = "kubelet_serving_csr_review"
    if x509 is None:
        raise AnsibleFilterError("%s: the Python package cryptography is needed on the controller" % name)
    for label, value in (("csrs", csrs), ("nodes", nodes)):
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise AnsibleFilterError("%s: %s must be a list of objects, got %r" % (name, label, type(value).__name__))
    by_name = {(n.get("metadata") or {}).get("name"): n for n in nodes}
    reviewed = []
    for csr in csrs:
        spec, status = csr.get("spec") or {}, csr.get("status") or {}
        if spec.get("signerName") != SERVING_SIGNER or status.get("conditions"):
            continue
        refusal = _csr_refusal(csr, by_name)
        username = spec.get("username") or ""
        reviewed.append(
            {
                "name": csr["metadata"]["name"],
                "node": username[len("system:node:") :] if username.startswith("system:node:") else "",
                "approve": refusal is None,
                "reason": refusal or "the node's own name and addresses",
            }
        )
    return reviewed


def node_label_changes(nodes, name, labels, field_manager):
    """What a server-side apply of ``labels`` by ``field_manager`` would change on the Node ``name``.

    ``nodes`` are Node objects as ``kubectl get nodes -o json`` lists them. Answers ``{set, remove}``:
    the labels missing or with another value, and the keys the manager applied before that ``labels``
    no longer has (an apply removes those). Both empty: the apply would change nothing. Deciding from
    the labels alone keeps the answer right while the kubelet updates the Node's status.
    """
    filter_name = "node_label_changes"
    if not isinstance(nodes, list) or not all(isinstance(item, dict) for item in nodes):
        raise AnsibleFilterError("%s: nodes must be a list of Node objects, got %r" % (filter_name, nodes))
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise AnsibleFilterError("%s: labels must map names to strings, got %r" % (filter_name, labels))
    if not name or not isinstance(name, str):
        raise AnsibleFilterError("%s: the node name must be a non-empty string, got %r" % (filter_name, name))
    node = next((n for n in nodes if (n.get("metadata") or {}).get("name") == name), None)
    if node is None:
        return {"set": dict(labels), "remove": []}
    metadata = node.get("metadata") or {}
    current = metadata.get("labels") or {}
    owned = set()
    for entry in metadata.get("managedFields") or []:
        if entry.get("manager") == field_manager and entry.get("operation") == "Apply":
            fields = ((entry.get("fieldsV1") or {}).get("f:metadata") or {}).get("f:labels") or {}
            owned.update(key[2:] for key in fields if key.startswith("f:"))
    return {
        "set": {key: value for key, value in labels.items() if current.get(key) != value},
        "remove": sorted(key for key in owned - set(labels) if key in current),
    }


class FilterModule:
    def filters(self):
        return {
            "kubeadm_ca_cert_hash": kubeadm_ca_cert_hash,
            "kubeadm_service_ip": kubeadm_service_ip,
            "encryption_providers": encryption_providers,
            "kubelet_serving_csr_review": kubelet_serving_csr_review,
            "node_label_changes": node_label_changes,
        }
