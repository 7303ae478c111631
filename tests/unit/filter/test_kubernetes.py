"""Filters for kubeadm clusters: CA public key pins, service addresses, encryption keys."""

import base64
import datetime
import hashlib

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.filter.kubernetes import (
    FilterModule,
    encryption_key,
    kubeadm_ca_cert_hash,
    kubeadm_service_ip,
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
        ("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n", "not valid base64"),
        (
            "-----BEGIN CERTIFICATE-----\n"
            + base64.b64encode(b"\x02\x01\x00").decode()
            + "\n-----END CERTIFICATE-----",
            "not a DER SEQUENCE",
        ),
        (
            "-----BEGIN CERTIFICATE-----\n"
            + base64.b64encode(b"\x30\x82\x10\x00\x30").decode()
            + "\n-----END CERTIFICATE-----",
            "truncated",
        ),
        (
            "-----BEGIN CERTIFICATE-----\n"
            + base64.b64encode(b"\x30\x05\x30\x03\x02\x01\x01").decode()
            + "\n-----END CERTIFICATE-----",
            "no subjectPublicKeyInfo",
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


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (None, ""),
        ("", ""),
        (config({"identity": {}}), ""),
        (config({"secretbox": {"keys": [{"name": "k1", "secret": "c2VjcmV0"}]}}, {"identity": {}}), "c2VjcmV0"),
        (
            config(
                {"identity": {}},
                {"aescbc": {"keys": [{"name": "a", "secret": "YQ=="}, {"name": "b", "secret": "Yg=="}]}},
            ),
            "YQ==",
        ),
        ({"kind": "EncryptionConfiguration"}, ""),
    ],
)
def test_encryption_key(value, key):
    assert encryption_key(value) == key


@pytest.mark.parametrize("value", [{"kind": "Policy"}, ["secretbox"], "secretbox: x"])
def test_encryption_key_rejects_other_documents(value):
    with pytest.raises(AnsibleFilterError, match="expected a parsed EncryptionConfiguration"):
        encryption_key(value)


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"kubeadm_ca_cert_hash", "kubeadm_service_ip", "encryption_key"}
