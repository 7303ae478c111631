"""The role refuses a containerd below its minimum, names the version, and changes nothing.

Runs molecule/container_runtime/refuse.yml with ansible-playbook against each converged host:
Debian's own containerd (1.6.20 on Debian 12, 1.7.24 on Debian 13) through the package source, and
an old pinned release. Without the check the package run would install Debian's containerd.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1]
PROJECT = SCENARIO.parents[1]
DEBIAN_CONTAINERD = {"12": "1.6.20", "13": "1.7.24"}


def refuse(host, **extra_vars):
    """Run refuse.yml on this host only; return (returncode, output)."""
    name = host.backend.get_hostname()
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(PROJECT / ".cache/collections"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_DISPLAY_SKIPPED_HOSTS="false",
    )
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inventory, "run by molecule verify (MOLECULE_INVENTORY_FILE)"
    playbook = shutil.which("ansible-playbook")
    assert playbook, "ansible-playbook is not on PATH"
    run = subprocess.run(  # noqa: S603 - a fixed command line, no shell
        [
            playbook,
            "-i",
            inventory,
            "--limit",
            name,
            "-e",
            json.dumps(extra_vars),
            str(SCENARIO / "refuse.yml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    return run.returncode, run.stdout + run.stderr


def recap(output, name):
    match = re.search(rf"^{re.escape(name)}\s+:\s+(.*)$", output, re.MULTILINE)
    assert match, output
    return dict(item.split("=") for item in match.group(1).split())


@pytest.fixture
def state(host):
    """What a refused run must leave as it was."""

    def read():
        return {
            "version": host.check_output("containerd --version"),
            "config": host.file("/etc/containerd/config.toml").sha256sum,
            "unit": host.file("/etc/systemd/system/containerd.service").sha256sum,
            "pid": host.check_output("systemctl show containerd --property=MainPID"),
            "package": host.package("containerd").is_installed,
        }

    return read


def test_debian_containerd_package_is_refused_with_its_version(host, state):
    before = state()
    debian = host.system_info.release.split(".")[0]
    code, output = refuse(host, container_runtime_containerd_source="package")
    assert code != 0, output
    message = re.search(r"container_runtime: containerd (\S+) from package containerd is not supported", output)
    assert message, output
    assert message.group(1).startswith(DEBIAN_CONTAINERD[debian] + "~"), message.group(1)
    assert "2.3.0 or newer is needed" in output
    counts = recap(output, host.backend.get_hostname())
    assert counts["changed"] == "0" and counts["failed"] == "1", counts
    assert state() == before  # still the release, same configuration and process; Debian's not installed


def test_old_pinned_release_is_refused_before_any_download(host, state):
    before = state()
    code, output = refuse(host, container_runtime_containerd_version="1.7.24")
    assert code != 0, output
    assert "container_runtime: containerd 1.7.24 from the release is not supported" in output, output
    assert recap(output, host.backend.get_hostname())["changed"] == "0"
    assert not host.file("/var/cache/homelab/containerd/containerd-1.7.24-linux-amd64.tar.gz").exists
    assert state() == before


def test_minimum_below_containerd_2_is_refused(host):
    code, output = refuse(host, container_runtime_containerd_min_version="1.7.24")
    assert code != 0, output
    assert "container_runtime_containerd_min_version '1.7.24' must be x.y.z and at least 2.0.0" in output, output
