"""The shared container detection: the Jinja test homelab.k8s.container on ansible_facts.

Every role asks this one test (through the shared role's homelab_in_container); it reads
ansible_facts only, so it answers the same with inject_facts_as_vars on or off.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.k8s.plugins.test.host import container

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

# Shapes of ansible-core's Linux virtual facts (ansible.module_utils.facts.virtual.linux).
PODMAN = {
    "virtualization_role": "guest",
    "virtualization_type": "podman",
    "virtualization_tech_guest": ["container", "podman"],
    "virtualization_tech_host": [],
    "env": {"container": "podman"},
}
DOCKER = {"virtualization_role": "guest", "virtualization_type": "docker", "virtualization_tech_guest": ["docker"]}
LXC = {"virtualization_role": "guest", "virtualization_type": "lxc", "virtualization_tech_guest": ["lxc"]}
NSPAWN_ENV_ONLY = {"virtualization_role": "NA", "virtualization_type": "NA", "env": {"container": "systemd-nspawn"}}
KVM_GUEST = {"virtualization_role": "guest", "virtualization_type": "kvm", "virtualization_tech_guest": ["kvm"]}
KVM_HOST_WITH_PODMAN = {
    "virtualization_role": "host",
    "virtualization_type": "kvm",
    "virtualization_tech_guest": [],
    "virtualization_tech_host": ["kvm", "podman"],
}
BARE_METAL = {"virtualization_role": "NA", "virtualization_type": "NA", "env": {"HOME": "/root"}}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (PODMAN, True),
        (DOCKER, True),
        (LXC, True),
        (NSPAWN_ENV_ONLY, True),
        (KVM_GUEST, False),
        (KVM_HOST_WITH_PODMAN, False),
        (BARE_METAL, False),
    ],
    ids=["podman", "docker", "lxc", "nspawn-env", "kvm-guest", "kvm-host-running-podman", "bare-metal"],
)
def test_container_from_facts(facts, expected):
    assert container(facts) is expected


def test_facts_without_the_virtual_subset_are_an_error():
    """A host whose virtual facts were not gathered is not silently a real host."""
    with pytest.raises(AnsibleFilterError, match="gather_subset"):
        container({"distribution": "Debian"})


def test_not_facts_is_an_error():
    with pytest.raises(AnsibleFilterError, match="ansible_facts"):
        container("podman")


def test_this_machine_as_systemd_detect_virt_judges_it(tmp_path):
    """On this machine, with facts injection off, the shared fact agrees with systemd-detect-virt."""
    detect = subprocess.run(["systemd-detect-virt", "--container"], capture_output=True, text=True, check=False)
    if detect.returncode not in (0, 1):
        pytest.skip("systemd-detect-virt is not available")
    playbook = tmp_path / "detect.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: true\n  gather_subset: [virtual, env]\n"
        "  roles: [homelab.k8s.homelab]\n"
        "  tasks:\n    - ansible.builtin.debug:\n"
        "        msg: \"{{ {'in_container': homelab_in_container} | to_json }}\"\n"
    )
    run = subprocess.run(
        [ANSIBLE_PLAYBOOK, str(playbook)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_INJECT_FACT_VARS": "false", "ANSIBLE_STDOUT_CALLBACK": "json"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout)
    message = result["plays"][0]["tasks"][-1]["hosts"]["localhost"]["msg"]
    assert json.loads(message)["in_container"] is (detect.returncode == 0)
