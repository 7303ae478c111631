"""Render the kubernetes and cni roles' files for an inventory, once per test session.

The roles run through ansible-playbook on this machine (connection local), every host writing
under its own root directory, exactly as on a node but below a temporary directory.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from playbook_runner import ansible_playbook

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
SEED_HOSTS = REPO / "inventories" / "production" / "hosts.yml"

# What the tailscale role would have set on each production node.
TAILSCALE = {
    "k8s-master-01": ("100.64.0.10", "k8s-master-01.tail1234.ts.net."),
    "k8s-worker-01": ("100.64.0.11", "k8s-worker-01.tail1234.ts.net."),
    "k8s-worker-02": ("100.64.0.12", "k8s-worker-02.tail1234.ts.net."),
    "k8s-worker-03": ("100.64.0.13", "k8s-worker-03.tail1234.ts.net."),
}
# The lab containers' slirp4netns address (their default IPv4).
LAB_NODE_IP = "10.0.2.100"


def make_ca(directory):
    """A real self-signed CA certificate, as kubeadm's ca.crt, and its openssl public key pin."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "ca.crt", directory / "ca.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=kubernetes",
        ],
        check=True,
        capture_output=True,
    )
    return cert


def write_inventory(directory, name):
    """The seed topology with the settings of inventories/<name>, reached locally."""
    hosts = yaml.safe_load(SEED_HOSTS.read_text())
    group_vars = directory / "group_vars"
    group_vars.mkdir(parents=True)
    shutil.copy(REPO / "inventories" / name / "group_vars" / "all.yml", group_vars / "all.yml")
    host_vars = directory / "host_vars"
    host_vars.mkdir()
    for host, (ipv4, dns_name) in TAILSCALE.items():
        facts = (
            {"kubernetes_node_ip": LAB_NODE_IP}
            if name == "lab"
            else {"tailscale_ipv4": ipv4, "tailscale_dns_name": dns_name}
        )
        (host_vars / f"{host}.yml").write_text(yaml.safe_dump(facts))
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return directory


def run_playbook(inventory, playbook, extra_vars, *args):
    """ansible-playbook on this machine for every host of the inventory; its output."""
    local = {"ansible_connection": "local", "ansible_become": False, "ansible_python_interpreter": sys.executable}
    result = ansible_playbook(
        HERE / playbook,
        "-i",
        inventory,
        "-e",
        json.dumps({**local, **extra_vars}),
        *args,
        env={"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_PIPELINING": "1"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result.output


def run_render(inventory, root, tags, *args):
    extra_vars = {
        "kubernetes_root_dir": f"{root}/{{{{ inventory_hostname }}}}",
        "cni_manifest_dir": f"{root}/calico",
        "test_ca_cert": f"{root}/ca/ca.crt",
    }
    return run_playbook(inventory, "render.yml", extra_vars, *(["--tags", tags] if tags else []), *args)


class Rendered:
    """The files one inventory's render wrote, and the output of its run at -vvv."""

    def __init__(self, name, inventory, root, output):
        self.name, self.inventory, self.root, self.output = name, inventory, root, output
        self.tags = TAGS[name]
        self.workers = WORKERS[name]
        self.limit = ["--limit", ",".join(["k8s-master-01", *self.workers])]

    def path(self, host, relative):
        return self.root / host / relative.lstrip("/")

    def docs(self, host, relative):
        return [d for d in yaml.safe_load_all(self.path(host, relative).read_text()) if d is not None]

    def doc(self, host, relative, kind):
        (found,) = [d for d in self.docs(host, relative) if d.get("kind") == kind]
        return found

    @property
    def calico(self):
        return [d for d in yaml.safe_load_all((self.root / "calico" / "calico-resources.yaml").read_text()) if d]


# The lab runs every step (the ones it cannot run report lab-skip) on the control plane and one
# worker, twice; production only the configuration steps (the others would run kubeadm), once.
TAGS = {
    "lab": None,
    "staging": "kubernetes_config,cni_validate,cni_render",
    "production": "kubernetes_config,cni_validate,cni_render",
}
ALL_WORKERS = ["k8s-worker-01", "k8s-worker-02", "k8s-worker-03"]
WORKERS = {"lab": ["k8s-worker-02"], "staging": ALL_WORKERS, "production": ALL_WORKERS}


_RENDERS = {}


def render(name, tmp_path_factory):
    """Render an inventory once per session, at -vvv."""
    if name not in _RENDERS:
        base = tmp_path_factory.mktemp(name)
        inventory = write_inventory(base / "inventory", name)
        root = base / "root"
        make_ca(root / "ca")
        rendered = Rendered(name, inventory, root, "")
        rendered.output = run_render(inventory, root, rendered.tags, *rendered.limit, "-vvv")
        _RENDERS[name] = rendered
    return _RENDERS[name]


@pytest.fixture(scope="session", params=sorted(TAGS))
def rendered(request, tmp_path_factory):
    return render(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    return render("lab", tmp_path_factory)


@pytest.fixture(scope="session")
def lab_rerun(lab):
    """The output of a second run of every step over the lab's root."""
    return run_render(lab.inventory, lab.root, lab.tags, *lab.limit)
