# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests on a host's gathered facts (``ansible_facts``), shared by every role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

# virtualization_type values of ansible-core's Linux virtual facts that mean "a container":
# the kernel is the host's, so modules and sysctls can be written but not loaded.
CONTAINER_TYPES = frozenset(("container", "containerd", "docker", "lxc", "openvz", "podman", "systemd-nspawn", "wsl"))


def container(facts):
    """True when ``facts`` (a host's ``ansible_facts``) describe a container.

    Reads only ``ansible_facts`` keys, so it answers the same with ``inject_facts_as_vars``
    on or off. Facts without the virtual subset are an error, not a real host.
    """
    if not isinstance(facts, dict):
        raise AnsibleFilterError("container: expected the host's ansible_facts (a dict), got %r" % type(facts).__name__)
    environment = facts.get("env")
    if isinstance(environment, dict) and environment.get("container"):
        # systemd, podman and LXC set $container for PID 1 and its children.
        return True
    if "virtualization_role" not in facts and "virtualization_tech_guest" not in facts:
        raise AnsibleFilterError(
            "container: ansible_facts has no virtualization facts; gather them first "
            "(gather_facts, or ansible.builtin.setup with gather_subset [virtual])"
        )
    guest = facts.get("virtualization_tech_guest")
    if is_sequence(guest) and CONTAINER_TYPES.intersection(guest):
        return True
    return facts.get("virtualization_role") == "guest" and facts.get("virtualization_type") in CONTAINER_TYPES


class TestModule(object):
    def tests(self):
        return {"container": container}
