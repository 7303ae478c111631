# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure IP address and network filters used to validate inventories and render firewalls.

The ``*_valid`` filters never raise: they answer True or False so a play can build its own
message. The other filters raise AnsibleFilterError naming the bad value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError

_VERSIONS = (None, 4, 6)


def _check_version(version, filter_name):
    if version not in _VERSIONS:
        raise AnsibleFilterError("%s: version must be 4, 6 or omitted, got %r" % (filter_name, version))


def _as_list(value, filter_name):
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise AnsibleFilterError("%s: expected a string or a list of strings, got %r" % (filter_name, value))


def _address(value, filter_name):
    if not isinstance(value, str):
        raise AnsibleFilterError("%s: expected an IP address string, got %r" % (filter_name, value))
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise AnsibleFilterError("%s: %r is not an IPv4 or IPv6 address" % (filter_name, value)) from None
    # An IPv4 client seen through a dual-stack socket (::ffff:192.0.2.1) is that IPv4 address.
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _network(value, filter_name):
    if not isinstance(value, str) or "/" not in value:
        raise AnsibleFilterError(
            "%s: expected a network in CIDR notation (a.b.c.d/n or x::/n), got %r" % (filter_name, value)
        )
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise AnsibleFilterError("%s: %r is not a network in CIDR notation" % (filter_name, value)) from None


def _networks(values, filter_name):
    return [_network(value, filter_name) for value in _as_list(values, filter_name)]


def ip_valid(value, version=None):
    """True when ``value`` is an IP address (of the given version, when one is given)."""
    _check_version(version, "ip_valid")
    if not isinstance(value, str):
        return False
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return version is None or address.version == version


def cidr_valid(value, version=None, strict=True):
    """True when ``value`` is a network in CIDR notation.

    With ``strict`` (the default) the host bits must be zero: ``10.0.0.1/24`` is refused because
    it names an address, not the network ``10.0.0.0/24``.
    """
    _check_version(version, "cidr_valid")
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        network = ipaddress.ip_network(value, strict=bool(strict))
    except ValueError:
        return False
    return version is None or network.version == version


def invalid_cidrs(values, version=None, strict=True):
    """The items of ``values`` that are not valid networks, for error messages."""
    _check_version(version, "invalid_cidrs")
    return [value for value in _as_list(values, "invalid_cidrs") if not cidr_valid(value, version, strict)]


def ip_in_networks(address, networks):
    """True when ``address`` lies in at least one of ``networks`` (a CIDR or a list of CIDRs)."""
    ip = _address(address, "ip_in_networks")
    return any(ip in network for network in _networks(networks, "ip_in_networks") if network.version == ip.version)


def cidrs_overlap(networks, other):
    """True when any of ``networks`` overlaps any of ``other`` (each a CIDR or a list of CIDRs)."""
    left = _networks(networks, "cidrs_overlap")
    right = _networks(other, "cidrs_overlap")
    return any(a.overlaps(b) for a in left for b in right if a.version == b.version)


def cidrs_not_covered(networks, covering):
    """The items of ``networks`` that do not lie entirely inside one of ``covering``."""
    outer = _networks(covering, "cidrs_not_covered")

    def covered(value):
        network = _network(value, "cidrs_not_covered")
        return any(network.version == o.version and network.subnet_of(o) for o in outer)

    return [value for value in _as_list(networks, "cidrs_not_covered") if not covered(value)]


def cidrs_of_version(values, version):
    """The networks of ``values`` of one IP version (4 or 6), normalised (``10.0.0.1/8`` -> ``10.0.0.0/8``)."""
    if version not in (4, 6):
        raise AnsibleFilterError("cidrs_of_version: version must be 4 or 6, got %r" % (version,))
    return [str(network) for network in _networks(values, "cidrs_of_version") if network.version == version]


def network_problems(networks):
    """What is wrong with named networks ``{option name: CIDR}``, as sentences naming each value.

    Empty values are not checked. Each value must be a network in CIDR notation with no host
    bits; when all are, no two may overlap. An empty list means all is well.
    """
    if not isinstance(networks, dict):
        raise AnsibleFilterError("network_problems: expected a mapping of names to networks, got %r" % (networks,))
    given = [(name, value) for name, value in networks.items() if value]
    problems = [
        "%s is '%s': expected a network in CIDR notation with no host bits, e.g. 10.244.0.0/16." % (name, value)
        for name, value in given
        if not isinstance(value, str) or not cidr_valid(value)
    ]
    if problems:
        return problems
    for index, (name, value) in enumerate(given):
        for other_name, other_value in given[index + 1 :]:
            if cidrs_overlap(value, other_value):
                problems.append(
                    "%s (%s) overlaps %s (%s): they must be disjoint." % (name, value, other_name, other_value)
                )
    return problems


class FilterModule(object):
    def filters(self):
        return {
            "network_problems": network_problems,
            "ip_valid": ip_valid,
            "cidr_valid": cidr_valid,
            "invalid_cidrs": invalid_cidrs,
            "ip_in_networks": ip_in_networks,
            "cidrs_overlap": cidrs_overlap,
            "cidrs_not_covered": cidrs_not_covered,
            "cidrs_of_version": cidrs_of_version,
        }
