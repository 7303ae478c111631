"""containerd runs with the configuration the role writes; kernel, swap and crictl files are in place."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

PINNED = yaml.safe_load((Path(__file__).parents[3] / "roles/container_runtime/defaults/main.yml").read_text())[
    "container_runtime_containerd_version"
]


@pytest.fixture(scope="module")
def dump(host):
    """The configuration containerd really runs with, after merging its defaults."""
    return tomllib.loads(host.check_output("containerd config dump"))


def runtime(dump):
    return dump["plugins"]["io.containerd.cri.v1.runtime"]


def images(dump):
    return dump["plugins"]["io.containerd.cri.v1.images"]


def test_pinned_release_installed_and_running(host):
    service = host.service("containerd")
    assert service.is_running
    assert service.is_enabled
    assert host.check_output("containerd --version").split()[2] == f"v{PINNED}"
    assert host.file("/usr/local/bin/containerd").mode == 0o755
    # the systemd unit runs the release binary, not a distribution package's
    unit = host.check_output("systemctl show containerd --property=FragmentPath,ExecStart")
    assert "FragmentPath=/etc/systemd/system/containerd.service" in unit
    assert "path=/usr/local/bin/containerd" in unit


def test_debian_containerd_package_replaced(host):
    # prepare.yml installed Debian's containerd (1.6 or 1.7); the role removed it
    assert not host.package("containerd").is_installed
    assert not host.file("/usr/bin/containerd").exists


def test_containerd_answers_on_its_socket_with_the_pinned_version(host):
    out = host.check_output("ctr --address /run/containerd/containerd.sock version")
    server = out[out.index("Server:") :]
    assert re.search(rf"^\s*Version:\s+v{re.escape(PINNED)}$", server, re.MULTILINE), out


def test_runc_for_the_shim(host):
    assert host.package("runc").is_installed
    assert host.run("runc --version").rc == 0


def test_release_archive_kept_with_its_checksum(host):
    archive = host.file(f"/var/cache/homelab/containerd/containerd-{PINNED}-linux-amd64.tar.gz")
    assert archive.exists
    assert archive.mode == 0o644


def test_native_configuration_version(host, dump):
    written = tomllib.loads(host.file("/etc/containerd/config.toml").content_string)
    assert written["version"] == 4  # containerd 2.3 reads version 4 without migrating it
    assert dump["version"] == 4
    logs = host.check_output("journalctl -u containerd --no-pager -o cat")
    assert "Configuration migrated" not in logs


def test_cri_plugin_not_disabled(dump):
    for plugin in ("io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images"):
        assert plugin not in dump.get("disabled_plugins", [])


def test_systemd_cgroup_driver(dump):
    runc = runtime(dump)["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is True
    assert runtime(dump)["containerd"]["default_runtime_name"] == "runc"


def test_pinned_sandbox_image(dump):
    # what kubeadm 1.37 uses (constants.PauseVersion)
    assert images(dump)["pinned_images"]["sandbox"] == "registry.k8s.io/pause:3.10.2"


def test_unprivileged_ports_stay_privileged(dump):
    assert runtime(dump)["enable_unprivileged_ports"] is False
    assert runtime(dump)["enable_unprivileged_icmp"] is False


def test_registry_mirrors_as_hosts_toml(host, dump):
    assert images(dump)["registry"]["config_path"] == "/etc/containerd/certs.d"
    docker = tomllib.loads(host.file("/etc/containerd/certs.d/docker.io/hosts.toml").content_string)
    assert docker["server"] == "https://registry-1.docker.io"
    mirror = docker["host"]["https://harbor.example.org/v2/dockerhub"]
    assert mirror == {"capabilities": ["pull", "resolve"], "override_path": True}
    k8s = tomllib.loads(host.file("/etc/containerd/certs.d/registry.k8s.io/hosts.toml").content_string)
    assert k8s["server"] == "https://registry.k8s.io"
    assert k8s["host"]["https://harbor.example.org/v2/k8s"]["ca"] == "/etc/ssl/certs/ca-certificates.crt"


def test_crictl_configured(host):
    crictl = host.file("/etc/crictl.yaml")
    assert crictl.mode == 0o644
    config = yaml.safe_load(crictl.content_string)
    assert config["runtime-endpoint"] == "unix:///run/containerd/containerd.sock"
    assert config["image-endpoint"] == "unix:///run/containerd/containerd.sock"
    assert host.socket("unix:///run/containerd/containerd.sock").is_listening


def test_kernel_modules_loaded_at_boot(host):
    modules = host.file("/etc/modules-load.d/homelab-kubernetes.conf").content_string.split()
    assert "overlay" in modules
    assert "br_netfilter" in modules


def test_kubernetes_sysctls(host):
    """Forwarding, bridge netfilter and the kubelet's protectKernelDefaults values, in one file."""
    lines = host.file("/etc/sysctl.d/99-homelab-kubernetes.conf").content_string.splitlines()
    settings = dict(line.split(" = ") for line in lines if line and not line.startswith("#"))
    assert settings == {
        "net.bridge.bridge-nf-call-ip6tables": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.ipv4.ip_forward": "1",
        "kernel.keys.root_maxbytes": "25000000",
        "kernel.keys.root_maxkeys": "1000000",
        "kernel.panic": "10",
        "kernel.panic_on_oops": "1",
        "vm.overcommit_memory": "1",
        "vm.panic_on_oom": "0",
    }


def test_swap_off(host):
    assert host.file("/proc/swaps").content_string.strip().splitlines()[1:] == []
    fstab = host.file("/etc/fstab").content_string.splitlines()
    assert "# /swapfile none swap sw 0 0" in fstab  # written by prepare.yml, commented out by the role
    for line in fstab:
        fields = line.split()
        assert line.lstrip().startswith("#") or len(fields) < 3 or fields[2] != "swap", line
