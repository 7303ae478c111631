"""The shared role's kernel entry point: one file of modules and one of sysctls, from the shared
facts and the overrides, idempotent, nothing written in check mode, nothing loaded off a node."""

import json
import sys

from playbook_runner import ansible_playbook

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: homelab.k8s.homelab
        tasks_from: kernel
"""


def run(tmp_path, *args):
    playbook = tmp_path / "kernel.yml"
    playbook.write_text(PLAYBOOK)
    extra = {
        "ansible_python_interpreter": sys.executable,
        "homelab_kernel_root": str(tmp_path / "root"),
        "homelab_kubernetes_sysctl_overrides": {"vm.overcommit_memory": None, "net.core.somaxconn": 1024},
    }
    (tmp_path / "root" / "etc" / "sysctl.d").mkdir(parents=True, exist_ok=True)
    (tmp_path / "root" / "etc" / "modules-load.d").mkdir(parents=True, exist_ok=True)
    return ansible_playbook(playbook, "-e", json.dumps(extra), *args)


def settings(path):
    lines = path.read_text().splitlines()
    return dict(line.split(" = ") for line in lines if line and not line.startswith("#"))


def test_kernel_files_from_the_shared_facts(tmp_path):
    first = run(tmp_path)
    assert first.returncode == 0, first.output
    assert first.recap("localhost")["changed"] == 1
    modules = (tmp_path / "root/etc/modules-load.d/homelab-kubernetes.conf").read_text().split("\n")
    assert [m for m in modules if m and not m.startswith("#")] == ["overlay", "br_netfilter"]
    assert settings(tmp_path / "root/etc/sysctl.d/99-homelab-kubernetes.conf") == {
        "kernel.keys.root_maxbytes": "25000000",
        "kernel.keys.root_maxkeys": "1000000",
        "kernel.panic": "10",
        "kernel.panic_on_oops": "1",
        "net.bridge.bridge-nf-call-ip6tables": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.core.somaxconn": "1024",
        "net.ipv4.ip_forward": "1",
        "vm.panic_on_oom": "0",
    }
    # Under another root nothing is loaded into this machine's kernel.
    for task in ("Load the Kubernetes kernel modules", "Load the Kubernetes kernel parameters"):
        assert first.task("homelab.k8s.homelab : " + task).startswith("skipping:"), first.stdout
    again = run(tmp_path)
    assert again.returncode == 0 and again.recap("localhost")["changed"] == 0, again.output


def test_check_mode_writes_nothing(tmp_path):
    result = run(tmp_path, "--check")
    assert result.returncode == 0, result.output
    assert not (tmp_path / "root/etc/sysctl.d/99-homelab-kubernetes.conf").exists()
