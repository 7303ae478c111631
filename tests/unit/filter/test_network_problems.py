"""The one network check of the collection (filter network_problems, role homelab entry point networks)."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.filter.network import network_problems


def test_good_networks_have_no_problem():
    assert network_problems({"pod": "10.244.0.0/16", "service": "10.96.0.0/16", "node": "192.168.1.0/24"}) == []


def test_empty_values_are_not_checked():
    assert network_problems({"pod": "10.244.0.0/16", "node": ""}) == []


@pytest.mark.parametrize("value", ["10.244.0.0/33", "10.96.0.1/16", "not-a-network", 42])
def test_a_bad_network_is_named_with_its_value(value):
    assert network_problems({"homelab_pod_cidr": value}) == [
        "homelab_pod_cidr is '%s': expected a network in CIDR notation with no host bits, e.g. 10.244.0.0/16." % value
    ]


def test_overlaps_are_named_pair_by_pair():
    problems = network_problems({"a": "10.0.0.0/8", "b": "10.244.0.0/16", "c": "192.168.0.0/16"})
    assert problems == ["a (10.0.0.0/8) overlaps b (10.244.0.0/16): they must be disjoint."]


def test_overlaps_are_checked_only_once_every_network_is_valid():
    assert network_problems({"a": "10.0.0.0/8", "b": "10.0.0.0/8", "c": "bad"}) == [
        "c is 'bad': expected a network in CIDR notation with no host bits, e.g. 10.244.0.0/16."
    ]


def test_not_a_mapping_is_an_error():
    with pytest.raises(AnsibleFilterError, match="mapping"):
        network_problems(["10.0.0.0/8"])
