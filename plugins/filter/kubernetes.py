# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure filters for kubeadm clusters: CA public key pins, service addresses, encryption keys.

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

_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.DOTALL)
ENCRYPTION_PROVIDERS = ("secretbox", "aescbc", "aesgcm")


def _der_element(data, offset, filter_name):
    """Return (tag, start of content, end of element) of the DER element at ``offset``."""
    try:
        tag = data[offset]
        length = data[offset + 1]
        start = offset + 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4:
                raise IndexError
            length = int.from_bytes(data[start : start + count], "big")
            start += count
    except IndexError:
        raise AnsibleFilterError("%s: the certificate is not valid DER" % filter_name) from None
    end = start + length
    if end > len(data):
        raise AnsibleFilterError("%s: the certificate is truncated" % filter_name)
    return tag, start, end


def _children(data, start, end, filter_name):
    offset = start
    while offset < end:
        tag, _content, offset_end = _der_element(data, offset, filter_name)
        yield tag, offset, offset_end
        offset = offset_end


def kubeadm_ca_cert_hash(pem):
    """The ``sha256:<hex>`` pin of a CA certificate's SubjectPublicKeyInfo, as ``kubeadm join`` expects.

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
    signature, issuer, validity, subject, subjectPublicKeyInfo, ... }, ... }
    """
    name = "kubeadm_ca_cert_hash"
    if not isinstance(pem, str):
        raise AnsibleFilterError("%s: expected a PEM certificate string, got %r" % (name, type(pem).__name__))
    match = _PEM_CERTIFICATE.search(pem)
    if not match:
        raise AnsibleFilterError("%s: no '-----BEGIN CERTIFICATE-----' block in the input" % name)
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        raise AnsibleFilterError("%s: the certificate block is not valid base64" % name) from None
    tag, start, _end = _der_element(der, 0, name)
    if tag != 0x30:
        raise AnsibleFilterError("%s: the certificate is not a DER SEQUENCE" % name)
    tbs_tag, tbs_start, tbs_end = _der_element(der, start, name)
    if tbs_tag != 0x30:
        raise AnsibleFilterError("%s: the certificate has no tbsCertificate" % name)
    fields = list(_children(der, tbs_start, tbs_end, name))
    if fields and fields[0][0] == 0xA0:  # explicit [0] version
        fields = fields[1:]
    if len(fields) < 6 or fields[5][0] != 0x30:
        raise AnsibleFilterError("%s: the certificate has no subjectPublicKeyInfo" % name)
    spki = der[fields[5][1] : fields[5][2]]
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


def encryption_key(config):
    """The secret of the first key of the first encrypting provider of a parsed EncryptionConfiguration.

    Answers an empty string when there is none (no file yet, or only ``identity``).
    """
    name = "encryption_key"
    if config in (None, ""):
        return ""
    if not isinstance(config, dict) or config.get("kind") != "EncryptionConfiguration":
        raise AnsibleFilterError(
            "%s: expected a parsed EncryptionConfiguration, got %r" % (name, type(config).__name__)
        )
    for resource in config.get("resources") or []:
        for provider in resource.get("providers") or []:
            for provider_name in ENCRYPTION_PROVIDERS:
                keys = (provider.get(provider_name) or {}).get("keys") or []
                if keys:
                    return keys[0]["secret"]
    return ""


class FilterModule:
    def filters(self):
        return {
            "kubeadm_ca_cert_hash": kubeadm_ca_cert_hash,
            "kubeadm_service_ip": kubeadm_service_ip,
            "encryption_key": encryption_key,
        }
