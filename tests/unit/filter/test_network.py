"""Unit tests of the homelab.k8s network filters (plugins/filter/network.py)."""

import json
import os
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.filter import network
from ansible_collections.homelab.k8s.plugins.filter.network import (
    cidr_valid,
    cidrs_not_covered,
    cidrs_of_version,
    cidrs_overlap,
    invalid_cidrs,
    ip_in_networks,
    ip_valid,
)

EXTRA_VARS = json.dumps({"cidrs": ["10.0.0.0/8", "10.0.0.1/8"]})


def test_filter_module_exports_every_filter():
    assert set(network.FilterModule().filters()) == {
        "ip_valid",
        "cidr_valid",
        "invalid_cidrs",
        "ip_in_networks",
        "cidrs_overlap",
        "cidrs_not_covered",
        "cidrs_of_version",
        "network_problems",
    }


@pytest.mark.parametrize(
    ("value", "version", "expected"),
    [
        ("10.0.0.1", None, True),
        ("10.0.0.1", 4, True),
        ("10.0.0.1", 6, False),
        ("fd00::1", None, True),
        ("fd00::1", 6, True),
        ("fd00::1", 4, False),
        ("10.0.0.256", None, False),
        ("10.0.0.0/24", None, False),
        (" 10.0.0.1", None, False),
        ("", None, False),
        (None, None, False),
        (10, None, False),
        (["10.0.0.1"], None, False),
    ],
)
def test_ip_valid(value, version, expected):
    assert ip_valid(value, version) is expected


@pytest.mark.parametrize(
    ("value", "version", "expected"),
    [
        ("10.244.0.0/16", None, True),
        ("10.244.0.0/16", 4, True),
        ("10.244.0.0/16", 6, False),
        ("0.0.0.0/0", None, True),
        ("192.168.1.7/32", None, True),
        ("fd00:10:244::/56", 6, True),
        ("fd00:10:244::/56", 4, False),
        ("::/0", None, True),
        ("10.244.0.1/16", None, False),  # host bits set
        ("10.244.0.0/33", None, False),
        ("10.244.0.0/", None, False),
        ("10.244.0.0", None, False),  # an address is not a network
        ("10.244.0.0/16 ", None, False),
        ("ten/8", None, False),
        ("", None, False),
        (None, None, False),
        (16, None, False),
    ],
)
def test_cidr_valid(value, version, expected):
    assert cidr_valid(value, version) is expected


def test_cidr_valid_non_strict_accepts_host_bits():
    assert cidr_valid("10.244.0.1/16", strict=False) is True
    assert cidr_valid("10.244.0.1/33", strict=False) is False


@pytest.mark.parametrize("filter_function", [ip_valid, cidr_valid, invalid_cidrs])
@pytest.mark.parametrize("version", [5, "4", True])
def test_bad_version_is_an_error(filter_function, version):
    with pytest.raises(AnsibleFilterError, match="version must be 4, 6 or omitted"):
        filter_function("10.0.0.0/8", version)


def test_invalid_cidrs_lists_the_bad_items_in_order():
    values = ["10.0.0.0/8", "10.0.0.1/8", "nonsense", "fd00::/8", 7]
    assert invalid_cidrs(values) == ["10.0.0.1/8", "nonsense", 7]
    assert invalid_cidrs(values, version=4) == ["10.0.0.1/8", "nonsense", "fd00::/8", 7]
    assert invalid_cidrs("10.0.0.0/8") == []
    assert invalid_cidrs([]) == []


def test_invalid_cidrs_refuses_a_mapping():
    with pytest.raises(AnsibleFilterError, match="expected a string or a list"):
        invalid_cidrs({"a": "10.0.0.0/8"})


@pytest.mark.parametrize(
    ("address", "networks", "expected"),
    [
        ("192.168.1.10", "192.168.1.0/24", True),
        ("192.168.1.10", ["10.0.0.0/8", "192.168.1.0/24"], True),
        ("192.168.2.10", ["10.0.0.0/8", "192.168.1.0/24"], False),
        ("192.168.1.0", "192.168.1.0/24", True),
        ("192.168.1.255", "192.168.1.0/24", True),
        ("192.168.1.10", [], False),
        ("192.168.1.10", "192.168.1.10/32", True),
        ("192.168.1.10", "0.0.0.0/0", True),
        ("fd7a:115c:a1e0::1", "fd7a:115c:a1e0::/48", True),
        ("fd7a:115c:a1e0::1", ["0.0.0.0/0"], False),
        ("10.1.2.3", ["::/0"], False),
        # an IPv4 client seen through a dual-stack socket
        ("::ffff:192.168.1.10", "192.168.1.0/24", True),
        ("::ffff:192.168.9.10", "192.168.1.0/24", False),
        # a network given with host bits still names its network
        ("192.168.1.10", "192.168.1.1/24", True),
    ],
)
def test_ip_in_networks(address, networks, expected):
    assert ip_in_networks(address, networks) is expected


@pytest.mark.parametrize(
    ("address", "networks", "message"),
    [
        ("192.168.1.300", "192.168.1.0/24", "'192.168.1.300' is not an IPv4 or IPv6 address"),
        (None, "192.168.1.0/24", "expected an IP address string, got None"),
        ("192.168.1.1", "192.168.1.0", "expected a network in CIDR notation .* got '192.168.1.0'"),
        ("192.168.1.1", ["10.0.0.0/8", "bogus/8"], "'bogus/8' is not a network in CIDR notation"),
        ("192.168.1.1", None, "expected a string or a list of strings, got None"),
    ],
)
def test_ip_in_networks_names_the_bad_value(address, networks, message):
    with pytest.raises(AnsibleFilterError, match="^ip_in_networks: " + message):
        ip_in_networks(address, networks)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("10.244.0.0/16", "10.96.0.0/12", False),
        ("10.244.0.0/16", "10.0.0.0/8", True),
        ("10.0.0.0/8", "10.244.0.0/16", True),
        ("10.244.0.0/16", "10.244.0.0/16", True),
        ("10.244.0.0/16", "10.245.0.0/16", False),
        ("10.244.0.0/16", ["192.168.1.0/24", "10.244.128.0/17"], True),
        (["192.168.1.0/24"], ["192.168.2.0/24", "10.0.0.0/8"], False),
        ("fd00::/8", "fd00:1::/64", True),
        ("0.0.0.0/0", "::/0", False),
        ([], "10.0.0.0/8", False),
    ],
)
def test_cidrs_overlap(left, right, expected):
    assert cidrs_overlap(left, right) is expected


def test_cidrs_overlap_names_the_bad_value():
    with pytest.raises(AnsibleFilterError, match=r"^cidrs_overlap: '10\.0\.0\.0/40' is not a network"):
        cidrs_overlap("10.244.0.0/16", "10.0.0.0/40")


@pytest.mark.parametrize(
    ("networks", "covering", "expected"),
    [
        (["192.168.1.0/24"], ["192.168.0.0/16"], []),
        (["192.168.1.0/24"], ["192.168.1.0/24"], []),
        (["192.168.1.0/24"], ["192.168.1.0/25"], ["192.168.1.0/24"]),
        (["192.168.1.0/24", "10.1.0.0/16"], ["10.0.0.0/8"], ["192.168.1.0/24"]),
        (["192.168.1.0/24", "10.1.0.0/16"], ["10.0.0.0/8", "192.168.1.0/24"], []),
        ("192.168.1.7/32", "192.168.1.0/24", []),
        (["192.168.1.0/24"], [], ["192.168.1.0/24"]),
        ([], ["10.0.0.0/8"], []),
        (["fd00:1::/64"], ["fd00::/8", "0.0.0.0/0"], []),
        (["fd00:1::/64"], ["0.0.0.0/0"], ["fd00:1::/64"]),
        # the item is returned as written, host bits and all
        (["192.168.1.1/24"], ["10.0.0.0/8"], ["192.168.1.1/24"]),
    ],
)
def test_cidrs_not_covered(networks, covering, expected):
    assert cidrs_not_covered(networks, covering) == expected


def test_cidrs_not_covered_names_the_bad_value():
    with pytest.raises(AnsibleFilterError, match=r"^cidrs_not_covered: 'x/8' is not a network"):
        cidrs_not_covered(["10.0.0.0/8"], ["x/8"])


def test_cidrs_of_version_splits_and_normalises():
    values = ["192.168.1.0/24", "fd00::/8", "10.1.2.3/8", "2001:db8::1/64"]
    assert cidrs_of_version(values, 4) == ["192.168.1.0/24", "10.0.0.0/8"]
    assert cidrs_of_version(values, 6) == ["fd00::/8", "2001:db8::/64"]
    assert cidrs_of_version("10.0.0.0/8", 6) == []


@pytest.mark.parametrize("version", [None, 5, "4"])
def test_cidrs_of_version_needs_a_version(version):
    with pytest.raises(AnsibleFilterError, match="version must be 4 or 6"):
        cidrs_of_version(["10.0.0.0/8"], version)


def test_filters_resolve_by_fqcn_in_ansible():
    """The filters load by their FQCN in a real ansible run (collection loader, templar)."""
    expression = (
        "{{ [cidrs | homelab.k8s.invalid_cidrs, '10.9.9.9' | homelab.k8s.ip_in_networks(cidrs[0]),"
        " '10.244.0.0/16' | homelab.k8s.cidr_valid] }}"
    )
    result = subprocess.run(
        ["ansible", "localhost", "-m", "ansible.builtin.debug", "-a", "msg=" + expression, "-e", EXTRA_VARS],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = json.loads(result.stdout.split(" => ", 1)[1])
    assert output["msg"] == [["10.0.0.1/8"], True, True]
