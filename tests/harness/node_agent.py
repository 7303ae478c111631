"""The part of a kubelet that kubeadm and the kubernetes role rely on, for test hosts where no
kubelet can run (no container runtime, no images, no nested containers).

It does only what a kubelet does with the files kubeadm writes, never more:
- runs each static pod of /etc/kubernetes/manifests as processes: every container's command and
  args exactly as written (kubeadm mounts host paths at the same paths, so the flags hold),
  restarted when it exits and when its manifest changes, stopped when the manifest goes;
- answers the kubelet health check kubeadm waits for (http://127.0.0.1:10248/healthz);
- with /etc/kubernetes/kubelet.conf, registers the Node (name, address, labels and taints from
  kubeadm-flags.env) and keeps its Ready condition fresh; with only bootstrap-kubelet.conf it
  makes the TLS bootstrap first: a client certificate request with the bootstrap token, the
  issued certificate written to /var/lib/kubelet/pki and kubelet.conf, as the kubelet does;
- with serverTLSBootstrap in /var/lib/kubelet/config.yaml, requests a kubelet-serving
  certificate for its name and addresses, once, and stores it when issued.

Standard library, PyYAML and the openssl command only; runs as the `kubelet` systemd unit.
"""

import base64
import hashlib
import http.server
import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

MANIFESTS = Path("/etc/kubernetes/manifests")
KUBELET_CONF = Path("/etc/kubernetes/kubelet.conf")
BOOTSTRAP_CONF = Path("/etc/kubernetes/bootstrap-kubelet.conf")
FLAGS_ENV = Path("/var/lib/kubelet/kubeadm-flags.env")
CONFIG = Path("/var/lib/kubelet/config.yaml")
PKI = Path("/var/lib/kubelet/pki")
LOGS = Path("/var/log/static-pods")


def log(message):
    print(message, flush=True)


class StaticPods:
    """Processes for the containers of the static pod manifests."""

    def __init__(self):
        self.running = {}  # manifest name -> (digest, [Popen])
        self.backoff = {}  # manifest name -> time of the next start

    @staticmethod
    def _commands(pod):
        for container in pod.get("spec", {}).get("containers", []):
            argv = list(container.get("command") or []) + list(container.get("args") or [])
            if argv:
                env = {e["name"]: e.get("value", "") for e in container.get("env") or [] if "name" in e}
                yield container["name"], argv, env

    def _start(self, name, pod):
        LOGS.mkdir(parents=True, exist_ok=True)
        processes = []
        for container, argv, env in self._commands(pod):
            with (LOGS / f"{name}_{container}.log").open("ab") as out:
                processes.append(
                    subprocess.Popen(
                        argv,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        env={**os.environ, **env},
                        start_new_session=True,
                    )
                )
            log(f"started {name}/{container}: {shlex.join(argv[:1])} ({len(argv) - 1} arguments)")
        return processes

    @staticmethod
    def _stop(processes):
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def sync(self):
        wanted = {}
        for path in sorted(MANIFESTS.glob("*.yaml")) if MANIFESTS.is_dir() else []:
            text = path.read_bytes()
            try:
                pod = yaml.safe_load(text)
            except yaml.YAMLError:
                continue  # being written; read again on the next round
            if isinstance(pod, dict) and pod.get("kind") == "Pod":
                wanted[path.stem] = (hashlib.sha256(text).hexdigest(), pod)
        for name in list(self.running):
            digest, processes = self.running[name]
            if name not in wanted or wanted[name][0] != digest:
                log(f"stopping {name}")
                self._stop(processes)
                del self.running[name]
            elif any(p.poll() is not None for p in processes) and time.time() >= self.backoff.get(name, 0):
                log(f"restarting {name}: a container exited")
                self._stop(processes)
                del self.running[name]
                self.backoff[name] = time.time() + 5
        for name, (digest, pod) in wanted.items():
            if name not in self.running and time.time() >= self.backoff.get(name, 0):
                self.running[name] = (digest, self._start(name, pod))

    def stop_all(self):
        for processes in (entry[1] for entry in self.running.values()):
            self._stop(processes)


def split_once(text, separator):
    """'a=b' -> ('a', 'b'); 'a' -> ('a', '')."""
    head, found, tail = text.partition(separator)
    return head, tail if found else ""


def kubeadm_flags():
    """The kubelet flags kubeadm wrote (KUBELET_KUBEADM_ARGS), as a dict."""
    if not FLAGS_ENV.exists():
        return {}
    line = FLAGS_ENV.read_text().strip()
    value = line.split("=", 1)[1].strip().strip('"')
    flags = {}
    for arg in shlex.split(value):
        if arg.startswith("--") and "=" in arg:
            key, val = arg[2:].split("=", 1)
            flags[key] = val
    return flags


class ApiClient:
    """Requests to the API server with the credentials of a kubeconfig."""

    def __init__(self, kubeconfig):
        config = yaml.safe_load(Path(kubeconfig).read_text())
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        self.server = cluster["server"].rstrip("/")
        self.context = ssl.create_default_context()
        ca = cluster.get("certificate-authority-data")
        if ca:
            self.context.load_verify_locations(cadata=base64.b64decode(ca).decode())
        else:
            self.context.load_verify_locations(cafile=cluster["certificate-authority"])
        self.token = user.get("token")
        if "client-certificate-data" in user:
            with tempfile.NamedTemporaryFile("wb", dir=PKI, delete=False) as pem:
                pem.write(base64.b64decode(user["client-certificate-data"]))
                pem.write(b"\n")
                pem.write(base64.b64decode(user["client-key-data"]))
            os.chmod(pem.name, 0o600)
            self.context.load_cert_chain(pem.name)
            os.unlink(pem.name)
        elif "client-certificate" in user:
            self.context.load_cert_chain(user["client-certificate"], user["client-key"])

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")


def openssl_key_and_csr(subject, sans=()):
    """A new EC key and a certificate request for it, as PEM."""
    with tempfile.TemporaryDirectory() as tmp:
        key, csr = Path(tmp) / "key.pem", Path(tmp) / "csr.pem"
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
        command = ["openssl", "req", "-new", "-key", key, "-out", csr, "-subj", subject]
        if sans:
            command += ["-addext", "subjectAltName=" + ",".join(sans)]
        subprocess.run(command, check=True, capture_output=True)
        return key.read_text(), csr.read_text()


def request_certificate(client, name, signer, usages, key_pem, csr_pem, timeout=120):
    """Create a CertificateSigningRequest and wait until it is issued; the certificate PEM."""
    body = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": f"{name}-"},
        "spec": {"request": base64.b64encode(csr_pem.encode()).decode(), "signerName": signer, "usages": usages},
    }
    status, created = client.request("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", body)
    if status != 201:
        raise RuntimeError(f"creating a CSR for {signer}: HTTP {status}: {created.get('message')}")
    csr_name = created["metadata"]["name"]
    log(f"requested {signer} certificate {csr_name}")
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, current = client.request("GET", f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{csr_name}")
        certificate = current.get("status", {}).get("certificate")
        if status == 200 and certificate:
            return base64.b64decode(certificate).decode()
        time.sleep(1)
    return None


def write_pem(path, cert_pem, key_pem):
    PKI.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(cert_pem + key_pem)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def tls_bootstrap(node_name):
    """Turn bootstrap-kubelet.conf into kubelet.conf with a certificate of the node's own."""
    bootstrap = ApiClient(BOOTSTRAP_CONF)
    key_pem, csr_pem = openssl_key_and_csr(f"/O=system:nodes/CN=system:node:{node_name}")
    cert_pem = request_certificate(
        bootstrap,
        "node-csr",
        "kubernetes.io/kube-apiserver-client-kubelet",
        ["digital signature", "client auth"],
        key_pem,
        csr_pem,
    )
    if cert_pem is None:
        return False
    pem = PKI / "kubelet-client-current.pem"
    write_pem(pem, cert_pem, key_pem)
    config = yaml.safe_load(BOOTSTRAP_CONF.read_text())
    config["users"] = [{"name": "default-auth", "user": {"client-certificate": str(pem), "client-key": str(pem)}}]
    for context in config["contexts"]:
        context["context"]["user"] = "default-auth"
    tmp = KUBELET_CONF.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(config))
    os.chmod(tmp, 0o600)
    tmp.replace(KUBELET_CONF)
    log(f"TLS bootstrap of {node_name} done")
    return True


class Node:
    """Registers the Node and keeps it Ready, as the kubelet's node status loop does."""

    def __init__(self):
        self.client = None
        self.name = None
        self.serving_requested = False

    def _node_body(self, flags):
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        for pair in filter(None, flags.get("node-labels", "").split(",")):
            key, value = split_once(pair, "=")
            labels[key] = value
        taints = []
        for taint in filter(None, flags.get("register-with-taints", "").split(",")):
            key_value, effect = split_once(taint, ":")
            key, value = split_once(key_value, "=")
            taints.append({"key": key, "effect": effect, **({"value": value} if value else {})})
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": labels},
            "spec": {"taints": taints} if taints else {},
        }

    def _status(self, address):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {
            "status": {
                "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": self.name}],
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "node agent of the test harness is posting ready status",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "kubeletVersion": os.environ.get("KUBELET_VERSION", "v0.0.0"),
                    "kubeProxyVersion": "",
                    "bootID": "",
                    "machineID": "",
                    "systemUUID": "",
                    "kernelVersion": os.uname().release,
                    "osImage": "",
                    "containerRuntimeVersion": "",
                },
            }
        }

    def _request_serving_certificate(self, address):
        config = yaml.safe_load(CONFIG.read_text()) if CONFIG.exists() else {}
        if not config.get("serverTLSBootstrap") or (PKI / "kubelet-server-current.pem").exists():
            self.serving_requested = True
            return
        self.serving_requested = True
        key_pem, csr_pem = openssl_key_and_csr(
            f"/O=system:nodes/CN=system:node:{self.name}", [f"DNS:{self.name}", f"IP:{address}"]
        )

        def wait():
            cert_pem = request_certificate(
                self.client,
                "csr",
                "kubernetes.io/kubelet-serving",
                ["digital signature", "server auth"],
                key_pem,
                csr_pem,
                timeout=3600,
            )
            if cert_pem:
                write_pem(PKI / "kubelet-server-current.pem", cert_pem, key_pem)
                log("serving certificate issued")

        threading.Thread(target=wait, daemon=True).start()

    def sync(self):
        flags = kubeadm_flags()
        self.name = flags.get("hostname-override") or socket.gethostname()
        bootstrapped = KUBELET_CONF.exists() or (BOOTSTRAP_CONF.exists() and tls_bootstrap(self.name))
        if not bootstrapped:
            return
        if self.client is None:
            self.client = ApiClient(KUBELET_CONF)
        address = flags.get("node-ip", "127.0.0.1")
        status = self.client.request("GET", f"/api/v1/nodes/{self.name}")[0]
        if status == 404:
            status, body = self.client.request("POST", "/api/v1/nodes", self._node_body(flags))
            log(f"registered node {self.name}: HTTP {status} {body.get('message', '')}")
        elif status != 200:
            return
        self.client.request(
            "PATCH",
            f"/api/v1/nodes/{self.name}/status",
            self._status(address),
            content_type="application/strategic-merge-patch+json",
        )
        if not self.serving_requested:
            self._request_serving_certificate(address)


class Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # the name http.server calls
        code = 200 if self.path == "/healthz" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"ok" if code == 200 else b"not found")

    def log_message(self, *args):
        pass


def main():
    os.environ.setdefault("KUBELET_VERSION", sys.argv[1] if len(sys.argv) > 1 else "v0.0.0")
    PKI.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 10248), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pods, node = StaticPods(), Node()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    log("node agent running")
    while not stopping.is_set():
        pods.sync()
        try:
            node.sync()
        except (OSError, RuntimeError, ValueError, KeyError, StopIteration, ssl.SSLError) as error:
            log(f"node sync: {error}")
            node.client = None
        stopping.wait(2)
    pods.stop_all()
    server.shutdown()


if __name__ == "__main__":
    main()
