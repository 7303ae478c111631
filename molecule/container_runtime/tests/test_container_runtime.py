"""containerd runs with the configuration the role writes; kernel, swap and crictl files are in place."""

import tomllib

import pytest
import yaml


@pytest.fixture(scope="module")
def dump(host):
    """The configuration containerd really runs with, after merging its defaults."""
    return tomllib.loads(host.check_output("containerd config dump"))


def cri(dump):
    return dump["plugins"]["io.containerd.grpc.v1.cri"]


def test_containerd_running_and_enabled(host):
    service = host.service("containerd")
    assert service.is_running
    assert service.is_enabled
    assert host.package("containerd").is_installed


def test_containerd_answers_on_its_socket(host):
    out = host.check_output("ctr --address /run/containerd/containerd.sock version")
    assert "Server:" in out


def test_cri_plugin_not_disabled(dump):
    assert "io.containerd.grpc.v1.cri" not in dump.get("disabled_plugins", [])


def test_systemd_cgroup_driver(dump):
    runc = cri(dump)["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is True
    assert cri(dump)["containerd"]["default_runtime_name"] == "runc"


def test_pinned_sandbox_image(dump):
    assert cri(dump)["sandbox_image"] == "registry.k8s.io/pause:3.10.1"


def test_unprivileged_ports_stay_privileged(dump):
    assert cri(dump)["enable_unprivileged_ports"] is False
    assert cri(dump)["enable_unprivileged_icmp"] is False


def test_registry_mirrors_as_hosts_toml(host, dump):
    assert cri(dump)["registry"]["config_path"] == "/etc/containerd/certs.d"
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
    modules = host.file("/etc/modules-load.d/homelab-containerd.conf").content_string.split()
    assert "overlay" in modules
    assert "br_netfilter" in modules


def test_forwarding_sysctls(host):
    lines = host.file("/etc/sysctl.d/99-homelab-kubernetes-network.conf").content_string.splitlines()
    settings = dict(line.split(" = ") for line in lines if line and not line.startswith("#"))
    assert settings == {
        "net.bridge.bridge-nf-call-ip6tables": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.ipv4.ip_forward": "1",
    }


def test_swap_off(host):
    assert host.file("/proc/swaps").content_string.strip().splitlines()[1:] == []
    fstab = host.file("/etc/fstab").content_string.splitlines()
    assert "# /swapfile none swap sw 0 0" in fstab  # written by prepare.yml, commented out by the role
    for line in fstab:
        fields = line.split()
        assert line.lstrip().startswith("#") or len(fields) < 3 or fields[2] != "swap", line
