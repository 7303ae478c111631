"""A real Kubernetes control plane on a test host, set up by the kubernetes role itself.

The test host is the Debian 12 systemd container of the molecule scenarios. Into it go the
components `make setup` built from their Go modules (kubeadm, kube-apiserver,
kube-controller-manager, kube-scheduler, etcd, etcdctl, etcdutl), and, as its `kubelet` unit,
tests/harness/node_agent.py: it runs kubeadm's static pods as processes with every flag kubeadm
wrote, answers the kubelet health check and registers the Node. Then the kubernetes role runs
against the host exactly as on a real node (minus the apt packages): it writes the hardened
configuration and runs its own `kubeadm init`, fetches the admin kubeconfig and approves the
node's serving certificate.

The API server listens on a free port of this machine, published from the test host, and is
the cluster's control-plane endpoint (127.0.0.1:<port>), so the admin kubeconfig the role fetches
works from the controller as it would on a real network.
"""

import base64
import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from playbook_runner import ansible_playbook

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "tests" / "integration" / "cluster"  # the playbooks the harness runs
BIN = REPO / ".cache" / "bin"
IMAGE = "localhost/homelab-debian12:latest"
# Test hosts are named <HOMELAB_TEST_PREFIX><cluster prefix><node name>; the variable keeps two
# checkouts that test at the same time on one machine out of each other's way.
ENV_PREFIX = os.environ.get("HOMELAB_TEST_PREFIX", "")
PREFIX = ENV_PREFIX + "cluster-"
CONTROL_PLANE = "k8s-master-01"
WORKER = "k8s-worker-02"  # the CI and registry node: a worker with a role label and a taint
NODE_IP = "10.0.2.100"  # the test host's address on its slirp4netns network
COMPONENTS = [
    "kubeadm",
    "kubectl",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "etcd",
    "etcdctl",
    "etcdutl",
]
ENV = {"CONTAINERS_CONF": str(REPO / "tests" / "podman" / "containers.conf")}
ETCD_TLS = [
    "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
    "--cert=/etc/kubernetes/pki/apiserver-etcd-client.crt",
    "--key=/etc/kubernetes/pki/apiserver-etcd-client.key",
]

# A worker reaches the control-plane endpoint 127.0.0.1:<port> as on a node with a local API
# server proxy (kubespray's localhost load balancer): systemd's socket proxy forwards it to the
# machine's published port, which slirp4netns offers the test host as 10.0.2.2.
API_PROXY_SOCKET = """[Socket]
ListenStream=127.0.0.1:{port}

[Install]
WantedBy=sockets.target
"""
API_PROXY_SERVICE = """[Unit]
Description=control-plane endpoint of the test cluster, forwarded to the machine's published port

[Service]
ExecStart=/lib/systemd/systemd-socket-proxyd 10.0.2.2:{port}
"""

KUBELET_UNIT = """[Unit]
Description=kubelet stand-in of the test harness: static pods as processes (tests/harness/node_agent.py)
After=network.target

[Service]
ExecStart=/usr/bin/python3 /usr/local/lib/homelab/node_agent.py {version}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
"""


def pod(name, privileged=False, resources=None):
    """A one-container Pod object (the test hosts run no pods: admission is what is tested)."""
    from kubernetes import client

    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="c",
                    image="harbor.example/app:1.0",
                    security_context=client.V1SecurityContext(privileged=True) if privileged else None,
                    resources=resources,
                )
            ]
        ),
    )


def podman(*args, check=True, input_text=None, timeout=300, text=True):
    env = {**os.environ, **ENV}
    return subprocess.run(
        ["podman", *map(str, args)],
        capture_output=True,
        text=text,
        check=check,
        env=env,
        input=input_text,
        timeout=timeout,
    )


def remove_hosts(prefix=PREFIX):
    """Remove every test host whose name starts with `prefix` (leftovers of an interrupted run)."""
    names = podman("ps", "-a", "--format", "{{.Names}}", check=False).stdout.split()
    leftovers = [n for n in names if n.startswith(prefix)]
    if leftovers:
        podman("rm", "-f", "-t", "5", *leftovers, check=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def component_version(name):
    """The version a component reports (`kubeadm version -o short`)."""
    out = subprocess.run([BIN / name, "version", "-o", "short"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


class TestHost:
    """One systemd test host with the components mounted at /usr/local/bin."""

    def __init__(self, name, publish=(), network="slirp4netns", hostname=None, prefix=PREFIX):
        self.name = prefix + name
        self.hostname = hostname or name
        mounts = []
        for component in COMPONENTS:
            real = (BIN / component).resolve(strict=True)
            mounts += ["-v", f"{real}:/usr/local/bin/{component}:ro"]
        ports = [a for port in publish for a in ("-p", f"127.0.0.1:{port}:{port}")]
        podman(
            "run",
            "-d",
            "--name",
            self.name,
            "--hostname",
            self.hostname,
            "--systemd",
            "always",
            "--network",
            network,
            "--cap-add",
            "NET_ADMIN",
            *ports,
            *mounts,
            IMAGE,
            "/sbin/init",
        )
        self.wait_for_systemd()

    def exec(self, *argv, check=True, input_text=None, timeout=300, text=True):
        return podman("exec", "-i", self.name, *argv, check=check, input_text=input_text, timeout=timeout, text=text)

    def wait_for_systemd(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.exec("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.5)
        raise TimeoutError(f"{self.name}: systemd did not start ({state})")

    def read(self, path):
        return self.exec("cat", path).stdout

    def install_node_agent(self, version):
        self.exec("mkdir", "-p", "/usr/local/lib/homelab")
        podman("cp", REPO / "tests" / "harness" / "node_agent.py", f"{self.name}:/usr/local/lib/homelab/node_agent.py")
        self.exec("tee", "/etc/systemd/system/kubelet.service", input_text=KUBELET_UNIT.format(version=version))
        self.exec("systemctl", "daemon-reload")
        self.exec("systemctl", "enable", "kubelet")

    def forward_api(self, port):
        """127.0.0.1:<port> on this host forwards to the control plane's published port."""
        self.exec("tee", "/etc/systemd/system/apiserver-proxy.socket", input_text=API_PROXY_SOCKET.format(port=port))
        self.exec("tee", "/etc/systemd/system/apiserver-proxy.service", input_text=API_PROXY_SERVICE.format(port=port))
        self.exec("systemctl", "daemon-reload")
        self.exec("systemctl", "enable", "--now", "apiserver-proxy.socket")

    def etcd_value(self, key):
        """The raw bytes etcd holds under `key` (etcdctl with the API server's etcd client certificate)."""
        argv = ["etcdctl", "--endpoints=https://127.0.0.1:2379", *ETCD_TLS, "get", key, "--print-value-only"]
        return self.exec(*argv, text=False).stdout

    def processes(self):
        """Command lines of the running processes, by executable name."""
        out = self.exec("ps", "-eo", "args", "--no-headers").stdout
        found = {}
        for line in out.splitlines():
            argv = line.split()
            if argv:
                found.setdefault(Path(argv[0]).name, argv)
        return found

    def remove(self):
        podman("rm", "-f", "-t", "5", self.name, check=False)


class Cluster:
    """The control plane the kubernetes role set up, and ways to talk to it."""

    def __init__(self, base, prefix=PREFIX):
        self.base = base
        self.prefix = prefix
        self.port = free_port()
        self.version = component_version("kubeadm")
        self.kubeconfig = base / "admin.conf"
        self.inventory = base / "inventory"
        self.control_plane = TestHost(CONTROL_PLANE, publish=[self.port], prefix=prefix)
        self.worker = TestHost(WORKER, network="slirp4netns:allow_host_loopback=true", prefix=prefix)
        self.worker.forward_api(self.port)
        self.hosts = [self.control_plane, self.worker]
        self.write_inventory()

    def write_inventory(self):
        def host(test_host, **hostvars):
            return {"ansible_connection": "containers.podman.podman", "ansible_host": test_host.name, **hostvars}

        inventory = {
            "all": {
                "children": {
                    "k8s_cluster": {
                        "children": {
                            "k8s_control_plane": {"hosts": {CONTROL_PLANE: host(self.control_plane)}},
                            "k8s_workers": {"hosts": {WORKER: host(self.worker, k8s_node_role="ci-registry")}},
                        }
                    }
                }
            }
        }
        group_vars = self.inventory / "group_vars"
        group_vars.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "inventories" / "production" / "group_vars" / "all.yml", group_vars / "all.yml")
        settings = {
            "ansible_user": "root",
            "ansible_become": False,
            # The test host has none of the apt packages: the components are mounted instead.
            "kubernetes_packages_enabled": False,
            "kubernetes_node_ip": NODE_IP,
            "kubernetes_apiserver_port": self.port,
            "kubernetes_control_plane_endpoint": f"127.0.0.1:{self.port}",
            "kubernetes_kubeconfig_local_path": str(self.kubeconfig),
            # No container runtime and no images on a test host: what kubeadm's preflight checks
            # of them, the kernel and the host's resources cannot pass here.
            "kubernetes_ignore_preflight_errors": ["all"],
            # An init without a kubelet fails after this long (kubeadm waits 4 minutes by default).
            "kubernetes_kubeadm_timeouts": {"kubeletHealthCheck": "20s"},
        }
        (group_vars / "k8s_cluster.yml").write_text(yaml.safe_dump(settings))
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump(inventory))

    def run_role(self, *args, extra_vars=None):
        """The kubernetes role against the test cluster (tests/integration/cluster/cluster.yml)."""
        return self.run_playbook("cluster.yml", *args, extra_vars=extra_vars)

    def run_playbook(self, playbook, *args, extra_vars=None):
        """A playbook of tests/integration/cluster against the test cluster's inventory."""
        extra = ["-e", json.dumps(extra_vars)] if extra_vars else []
        return ansible_playbook(
            HERE / playbook,
            "-i",
            self.inventory,
            *extra,
            *args,
            env={**ENV, "ANSIBLE_STDOUT_CALLBACK": "default"},
        )

    @property
    def server(self):
        return f"https://127.0.0.1:{self.port}"

    def ca_context(self):
        config = yaml.safe_load(self.kubeconfig.read_text())
        ca = config["clusters"][0]["cluster"]["certificate-authority-data"]
        return ssl.create_default_context(cadata=base64.b64decode(ca).decode())

    def anonymous(self, path, method="GET"):
        """An unauthenticated request: (HTTP status, body)."""
        request = urllib.request.Request(self.server + path, method=method)
        try:
            with urllib.request.urlopen(request, context=self.ca_context(), timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def api(self):
        """A kubernetes.client ApiClient with the admin kubeconfig the role fetched."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def node_api_client(self):
        """A kubernetes.client ApiClient with the control-plane node's own credentials: the
        kubelet.conf kubeadm wrote there (its server is the node's local API endpoint)."""
        from kubernetes import config

        kubelet_conf = yaml.safe_load(self.control_plane.read("/etc/kubernetes/kubelet.conf"))
        for entry in kubelet_conf["clusters"]:
            entry["cluster"]["server"] = self.server
        path = self.base / "node-kubelet.conf"
        path.write_text(yaml.safe_dump(kubelet_conf))
        path.chmod(0o600)
        return config.new_client_from_config(config_file=str(path))

    def wait_ready(self, timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.anonymous("/readyz")[0] == 200:
                    return
            except (OSError, ssl.SSLError):
                pass
            time.sleep(1)
        raise TimeoutError("the API server did not become ready")

    def logs(self):
        """The static pods' logs, for failure messages."""
        return self.control_plane.exec(
            "sh", "-c", "tail -n 30 /var/log/static-pods/*.log; journalctl -u kubelet -n 30 --no-pager", check=False
        ).stdout


@contextlib.contextmanager
def dedicated_cluster(base, name):
    """A cluster of its own, for tests that change what the shared one must keep (a restore, a
    key rotation, an upgrade): test hosts named <name>-cluster-*, the node agent installed before
    the role's only run, removed on exit."""
    prefix = f"{ENV_PREFIX}{name}-cluster-"
    remove_hosts(prefix)
    try:
        cluster = Cluster(base, prefix=prefix)
        for host in cluster.hosts:
            host.install_node_agent(cluster.version)
        run = cluster.run_role()
        assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:] + cluster.logs()
        cluster.wait_ready()
        yield cluster
    finally:
        remove_hosts(prefix)
