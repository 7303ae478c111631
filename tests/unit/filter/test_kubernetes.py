"""Filters for kubeadm clusters: CA public key pins, service addresses, encryption providers,
the review of kubelet serving certificate requests, the labels a Node still needs."""

import base64
import datetime
import hashlib
import re

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.filter.kubernetes import (
    FilterModule,
    encryption_providers,
    kubeadm_ca_cert_hash,
    kubeadm_service_ip,
    kubelet_serving_csr_review,
    node_label_changes,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def certificate(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    cert = builder.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def expected_pin(key):
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


@pytest.mark.parametrize(
    "key",
    [rsa.generate_private_key(public_exponent=65537, key_size=2048), ec.generate_private_key(ec.SECP256R1())],
    ids=["rsa", "ecdsa"],
)
def test_ca_cert_hash_pins_the_subject_public_key_info(key):
    assert kubeadm_ca_cert_hash(certificate(key)) == expected_pin(key)


def test_ca_cert_hash_uses_the_first_certificate_of_a_bundle():
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    bundle = "# cluster CA\n" + certificate(first) + certificate(second)
    assert kubeadm_ca_cert_hash(bundle) == expected_pin(first)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "expected a PEM certificate string"),
        ("not a certificate", "no '-----BEGIN CERTIFICATE-----' block"),
        ("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n", "cannot be read"),
        (
            "-----BEGIN CERTIFICATE-----\n"
            + base64.b64encode(b"\x02\x01\x00").decode()
            + "\n-----END CERTIFICATE-----",
            "cannot be read",
        ),
        (
            "-----BEGIN CERTIFICATE-----\n"
            + base64.b64encode(b"\x30\x82\x10\x00\x30").decode()
            + "\n-----END CERTIFICATE-----",
            "cannot be read",
        ),
    ],
)
def test_ca_cert_hash_names_what_is_wrong(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        kubeadm_ca_cert_hash(value)


@pytest.mark.parametrize(
    ("cidr", "index", "address"),
    [
        ("10.96.0.0/16", 1, "10.96.0.1"),
        ("10.96.0.0/16", 10, "10.96.0.10"),
        ("10.96.0.0/12", 10, "10.96.0.10"),
        ("fd00:10:96::/108", 10, "fd00:10:96::a"),
    ],
)
def test_service_ip(cidr, index, address):
    assert kubeadm_service_ip(cidr, index) == address


@pytest.mark.parametrize(
    ("cidr", "index", "message"),
    [
        ("10.96.0.1/16", 10, "not a network"),
        ("10.96.0.0", 10, "outside"),  # a /32 has no service addresses
        ("bogus", 10, "not a network"),
        (None, 10, "not a network"),
        ("10.96.0.0/16", 0, "outside"),
        ("10.96.0.0/16", True, "outside"),
        ("10.96.0.0/16", "10", "outside"),
        ("10.96.0.0/29", 7, "outside"),
    ],
)
def test_service_ip_rejects(cidr, index, message):
    with pytest.raises(AnsibleFilterError, match=message):
        kubeadm_service_ip(cidr, index)


def config(*providers):
    return {"kind": "EncryptionConfiguration", "resources": [{"resources": ["secrets"], "providers": list(providers)}]}


SECRETBOX = {"secretbox": {"keys": [{"name": "homelab-1", "secret": "b2xk"}]}}


@pytest.mark.parametrize("empty", [None, "", {"kind": "EncryptionConfiguration"}, config({"identity": {}})])
def test_encryption_providers_start_with_a_new_key(empty):
    assert encryption_providers(empty, "secretbox", "bmV3") == [
        {"secretbox": {"keys": [{"name": "homelab-1", "secret": "bmV3"}]}}
    ]
    assert encryption_providers(empty, "secretbox") is None  # a key is needed


def test_encryption_providers_keep_a_configuration_that_encrypts_with_the_provider():
    existing = config(SECRETBOX, {"identity": {}})
    assert encryption_providers(existing, "secretbox") == [SECRETBOX]
    assert encryption_providers(existing, "secretbox", "bmV3") == [SECRETBOX]


def test_a_new_provider_goes_first_and_the_old_one_stays_to_read():
    existing = config(SECRETBOX, {"identity": {}})
    assert encryption_providers(existing, "aescbc") is None
    assert encryption_providers(existing, "aescbc", "bmV3") == [
        {"aescbc": {"keys": [{"name": "homelab-2", "secret": "bmV3"}]}},
        SECRETBOX,
    ]
    # and back again: a third key name, both older providers still listed
    twice = config({"aescbc": {"keys": [{"name": "homelab-2", "secret": "bmV3"}]}}, SECRETBOX, {"identity": {}})
    assert [next(iter(p)) for p in encryption_providers(twice, "secretbox", "dGhy")] == [
        "secretbox",
        "aescbc",
        "secretbox",
    ]
    assert encryption_providers(twice, "secretbox", "dGhy")[0]["secretbox"]["keys"][0]["name"] == "homelab-3"


@pytest.mark.parametrize("value", [{"kind": "Policy"}, ["secretbox"], "secretbox: x"])
def test_encryption_providers_reject_other_documents(value):
    with pytest.raises(AnsibleFilterError, match="expected a parsed EncryptionConfiguration"):
        encryption_providers(value, "secretbox", "bmV3")


def test_encryption_providers_reject_an_unknown_provider():
    with pytest.raises(AnsibleFilterError, match="provider 'kms' is not one of secretbox, aescbc, aesgcm"):
        encryption_providers("", "kms", "bmV3")


# Kubelet serving certificate requests


def serving_csr(node, sans, cn=None, org="system:nodes", requester=None, usages=None, signer=None, groups=None):
    """A CSR object as the API server lists it, with a real PKCS#10 request."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn or f"system:node:{node}"),
        ]
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return {
        "metadata": {"name": f"csr-{node}"},
        "spec": {
            "request": base64.b64encode(pem).decode(),
            "signerName": signer or "kubernetes.io/kubelet-serving",
            "username": requester or f"system:node:{node}",
            "groups": groups or ["system:nodes", "system:authenticated"],
            "usages": usages or ["digital signature", "server auth"],
        },
        "status": {},
    }


NODES = [
    {
        "metadata": {"name": "k8s-worker-01"},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": "100.64.0.11"},
                {"type": "Hostname", "address": "k8s-worker-01"},
            ]
        },
    },
    {
        "metadata": {"name": "k8s-worker-02"},
        "status": {"addresses": [{"type": "InternalIP", "address": "100.64.0.12"}]},
    },
]


def ip(address):
    import ipaddress

    return x509.IPAddress(ipaddress.ip_address(address))


def review(csr):
    (entry,) = kubelet_serving_csr_review([csr], NODES)
    return entry


def test_a_nodes_own_request_is_approved():
    entry = review(serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01"), ip("100.64.0.11")]))
    assert entry == {
        "name": "csr-k8s-worker-01",
        "node": "k8s-worker-01",
        "approve": True,
        "reason": "the node's own name and addresses",
    }


@pytest.mark.parametrize(
    ("csr", "reason"),
    [
        (
            serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-02"), ip("100.64.0.11")]),
            "k8s-worker-02 not addresses of node k8s-worker-01",
        ),
        (
            serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01"), ip("100.64.0.12")]),
            "100.64.0.12 not addresses of node k8s-worker-01",
        ),
        (
            serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01")], cn="system:node:k8s-worker-02"),
            "subject CN=['system:node:k8s-worker-02']",
        ),
        (serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01")], org="system:masters"), "O=['system:masters']"),
        (serving_csr("k8s-worker-09", [x509.DNSName("k8s-worker-09")]), "node k8s-worker-09 is not a node"),
        (
            serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01")], requester="system:serviceaccount:x:y"),
            "not by a node",
        ),
        (
            serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01")], groups=["system:authenticated"]),
            "not in the group system:nodes",
        ),
        (
            serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01")], usages=["digital signature", "client auth"]),
            "not those of a serving certificate",
        ),
        (serving_csr("k8s-worker-01", []), "names no DNS name or IP address"),
        (
            serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01"), x509.RFC822Name("a@b.c")]),
            "more than DNS names and IP addresses",
        ),
    ],
    ids=[
        "other-name",
        "other-ip",
        "other-cn",
        "masters",
        "unknown-node",
        "not-a-node",
        "no-group",
        "client",
        "no-sans",
        "email",
    ],
)
def test_a_forged_request_is_refused_with_its_reason(csr, reason):
    entry = review(csr)
    assert entry["approve"] is False
    assert reason in entry["reason"]


def test_only_pending_serving_requests_are_reviewed():
    approved = serving_csr("k8s-worker-01", [x509.DNSName("k8s-worker-01")])
    approved["status"] = {"conditions": [{"type": "Approved"}]}
    client = serving_csr(
        "k8s-worker-02", [x509.DNSName("k8s-worker-02")], signer="kubernetes.io/kube-apiserver-client-kubelet"
    )
    assert kubelet_serving_csr_review([approved, client], NODES) == []


def test_csr_review_rejects_what_is_not_a_list():
    with pytest.raises(AnsibleFilterError, match="csrs must be a list of objects, got 'dict'"):
        kubelet_serving_csr_review({"items": []}, NODES)


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "kubeadm_ca_cert_hash",
        "kubeadm_service_ip",
        "encryption_providers",
        "kubelet_serving_csr_review",
        "node_label_changes",
    }


def labelled_node(labels, applied, manager="homelab.k8s", operation="Apply"):
    """A Node as the API server lists it: `applied` are the label keys `manager` owns, next to the
    kubelet's own entries for the labels it registered with and for the status it keeps posting."""
    return {
        "metadata": {
            "name": "k8s-worker-02",
            "labels": labels,
            "managedFields": [
                {
                    "manager": "kubelet",
                    "operation": "Update",
                    "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/hostname": {}}}},
                },
                {
                    "manager": "kubelet",
                    "operation": "Update",
                    "subresource": "status",
                    "fieldsV1": {"f:status": {"f:conditions": {}}},
                },
                {
                    "manager": manager,
                    "operation": operation,
                    "fieldsV1": {"f:metadata": {"f:labels": {"f:%s" % key: {} for key in applied}}},
                },
            ],
        },
        "status": {"conditions": [{"type": "Ready", "lastHeartbeatTime": "2026-11-30T15:00:00Z"}]},
    }


WANTED = {"homelab.k8s/role": "ci-registry", "node-role.kubernetes.io/worker": ""}


def test_labels_in_place_need_no_apply_whatever_the_status_says():
    node = labelled_node({"kubernetes.io/hostname": "k8s-worker-02", **WANTED}, WANTED)
    node["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-11-30T15:00:10Z"
    assert node_label_changes([node], "k8s-worker-02", WANTED, "homelab.k8s") == {"set": {}, "remove": []}


def test_a_missing_or_changed_label_is_set():
    node = labelled_node({"homelab.k8s/role": "general"}, ["homelab.k8s/role"])
    assert node_label_changes([node], "k8s-worker-02", WANTED, "homelab.k8s") == {
        "set": {"homelab.k8s/role": "ci-registry", "node-role.kubernetes.io/worker": ""},
        "remove": [],
    }


def test_a_label_the_manager_applied_before_and_no_longer_wants_is_removed():
    node = labelled_node({**WANTED, "homelab.k8s/gpu": "yes"}, [*WANTED, "homelab.k8s/gpu"])
    assert node_label_changes([node], "k8s-worker-02", WANTED, "homelab.k8s") == {
        "set": {},
        "remove": ["homelab.k8s/gpu"],
    }


@pytest.mark.parametrize(
    "manager, operation",
    [("kubectl-label", "Apply"), ("homelab.k8s", "Update")],
    ids=["another-manager", "not-an-apply"],
)
def test_labels_another_manager_or_an_update_set_are_left_alone(manager, operation):
    node = labelled_node({**WANTED, "team": "blue"}, ["team"], manager=manager, operation=operation)
    assert node_label_changes([node], "k8s-worker-02", WANTED, "homelab.k8s")["remove"] == []


def test_a_node_not_listed_gets_every_label():
    assert node_label_changes([], "k8s-worker-02", WANTED, "homelab.k8s") == {"set": WANTED, "remove": []}


@pytest.mark.parametrize(
    "nodes, name, labels, message",
    [
        ({"items": []}, "k8s-worker-02", WANTED, "nodes must be a list of Node objects, got {'items': []}"),
        ([], "", WANTED, "the node name must be a non-empty string, got ''"),
        ([], "k8s-worker-02", {"homelab.k8s/role": 3}, "labels must map names to strings, got {'homelab.k8s/role': 3}"),
    ],
    ids=["nodes-not-a-list", "empty-name", "label-not-a-string"],
)
def test_node_label_changes_refuses_bad_input(nodes, name, labels, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        node_label_changes(nodes, name, labels, "homelab.k8s")
