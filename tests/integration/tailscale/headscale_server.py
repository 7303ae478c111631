"""A real Headscale control server and real tailscaled daemons for the tests.

Headscale gets its own directory: config, SQLite database, noise and DERP keys, unix socket and an
ACL policy owning the seed's tags. It listens on a loopback address with free ports, runs its
embedded DERP relay (with STUN) so that nodes can reach each other without the internet, and
is driven through its own CLI (users, pre-auth keys, API keys, nodes).

tailscaled runs in userspace-networking mode (no TUN device, no kernel module, no change to the
machine's routes, firewall or DNS), with its own state directory, socket and a random UDP port,
so that several nodes run side by side on one machine.

Also a command line for the molecule scenario: `python3 headscale_server.py start DIR
--listen 127.0.0.1 --server-host 10.0.2.2` starts a server in the background and prints its
details as JSON; `stop DIR` ends it.
"""

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BIN = REPO / ".cache" / "bin"
USER = "homelab"
# The seed's tags; tag:k8s-control-plane is what the inventories use for control-plane nodes.
TAGS = ("tag:k8s", "tag:k8s-master", "tag:k8s-worker", "tag:k8s-control-plane")
BASE_DOMAIN = "ts.homelab.test"
# DERP over plain HTTP: the embedded relay has no TLS certificate here (tailscale's test knob).
DAEMON_ENV = {"TS_DEBUG_USE_DERP_HTTP": "1", "TS_NO_LOGS_NO_SUPPORT": "true"}


def binary(name):
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if not path:
        raise RuntimeError("%s not found: run `scripts/components.sh tailscale tailscaled headscale`" % name)
    return path


def free_port(host, kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("%s did not happen within %ss" % (what, timeout))
        time.sleep(0.1)


def die_with_parent():
    """In the child before exec: end with SIGTERM when the test process dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def policy(user=USER):
    """ACL policy: the homelab user owns the seed's tags; everything in the tailnet may talk."""
    return {
        "tagOwners": {tag: [user + "@"] for tag in TAGS},
        "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
    }


class Headscale:
    """One headscale server in `directory`, listening on `listen`; nodes reach it at server_host."""

    def __init__(self, directory, listen="127.0.0.1", server_host=None):
        self.dir = Path(directory)
        self.listen = listen
        self.server_host = server_host or listen
        self.proc = None
        self.port = None
        self.config_path = self.dir / "config.yaml"
        self.log_path = self.dir / "headscale.log"
        self.pid_path = self.dir / "headscale.pid"

    @property
    def url(self):
        return "http://%s:%s" % (self.server_host, self.port)

    @property
    def local_url(self):
        return "http://%s:%s" % (self.listen, self.port)

    def write_config(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port(self.listen)
        stun = free_port(self.listen, socket.SOCK_DGRAM)
        (self.dir / "policy.json").write_text(json.dumps(policy(), indent=2))
        config = {
            "server_url": self.url,
            "listen_addr": "%s:%s" % (self.listen, self.port),
            "metrics_listen_addr": "",
            "grpc_listen_addr": "%s:%s" % (self.listen, free_port(self.listen)),
            "grpc_allow_insecure": False,
            "noise": {"private_key_path": str(self.dir / "noise_private.key")},
            "prefixes": {"v4": "100.64.0.0/10", "v6": "fd7a:115c:a1e0::/48", "allocation": "sequential"},
            "derp": {
                "server": {
                    "enabled": True,
                    "region_id": 999,
                    "region_code": "headscale",
                    "region_name": "Headscale embedded DERP",
                    "verify_clients": True,
                    "stun_listen_addr": "%s:%s" % (self.listen, stun),
                    "private_key_path": str(self.dir / "derp_server_private.key"),
                    "automatically_add_embedded_derp_region": True,
                    "ipv4": self.server_host,
                },
                "urls": [],
                "paths": [],
                "auto_update_enabled": False,
            },
            "disable_check_updates": True,
            "node": {"expiry": 0},
            "database": {"type": "sqlite", "sqlite": {"path": str(self.dir / "db.sqlite"), "write_ahead_log": True}},
            "log": {"level": "info", "format": "text"},
            "policy": {"mode": "file", "path": str(self.dir / "policy.json")},
            "dns": {
                "magic_dns": True,
                "base_domain": BASE_DOMAIN,
                "override_local_dns": False,
                "nameservers": {"global": []},
            },
            "unix_socket": str(self.dir / "headscale.sock"),
            "unix_socket_permission": "0770",
            "logtail": {"enabled": False},
            "taildrop": {"enabled": False},
        }
        # JSON is YAML: headscale reads it as its config.yaml.
        self.config_path.write_text(json.dumps(config, indent=2))

    def start(self, timeout=60, detach=False):
        """Start headscale; detach=True lets it outlive this process (the molecule scenario stops it)."""
        self.write_config()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [binary("headscale"), "-c", str(self.config_path), "serve"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=None if detach else die_with_parent,
        )
        log.close()
        self.pid_path.write_text(str(self.proc.pid))
        wait_for(self._healthy, timeout, "headscale health check")
        self.cli("users", "create", USER)
        return self

    def _healthy(self):
        if self.proc.poll() is not None:
            raise RuntimeError("headscale exited %s: %s" % (self.proc.returncode, self.log()[-3000:]))
        try:
            with urllib.request.urlopen(self.local_url + "/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.pid_path.unlink(missing_ok=True)

    def cli(self, *args, check=True):
        """Run `headscale <args> -o json`; returns the decoded output (or the process when check=False)."""
        proc = subprocess.run(
            [binary("headscale"), "-c", str(self.config_path), *args, "-o", "json"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if not check:
            return proc
        if proc.returncode != 0:
            raise RuntimeError("headscale %s failed: %s%s" % (" ".join(args), proc.stdout, proc.stderr))
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def user_id(self, name=USER):
        (user,) = [u for u in self.cli("users", "list") if u["name"] == name]
        return user["id"]

    def preauth_key(self, reusable=False, ephemeral=False, expiration="1h", tags=()):
        """A pre-auth key of the homelab user; with tags, the nodes it registers are tagged."""
        args = ["preauthkeys", "create", "--user", str(self.user_id()), "--expiration", expiration]
        if reusable:
            args.append("--reusable")
        if ephemeral:
            args.append("--ephemeral")
        if tags:
            args += ["--tags", ",".join(tags)]
        return self.cli(*args)["key"]

    def api_key(self, expiration="1h"):
        return self.cli("apikeys", "create", "--expiration", expiration)

    def nodes(self):
        return self.cli("nodes", "list") or []

    def node(self, hostname):
        found = [n for n in self.nodes() if n.get("given_name") == hostname or n.get("name") == hostname]
        return found[0] if found else None


class Tailscaled:
    """A tailscaled in userspace-networking mode with its own state, socket and UDP port."""

    def __init__(self, directory, name="node"):
        self.dir = Path(directory)
        self.name = name
        # A unix socket path has at most 107 bytes: keep it out of deep test directories.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="tsd-"))
        self.socket = str(self.socket_dir / "tailscaled.sock")
        self.log_path = self.dir / "tailscaled.log"
        self.proc = None

    def start(self, timeout=30):
        self.dir.mkdir(parents=True, exist_ok=True)
        # TS_LOGS_DIR: its log settings stay in the test directory, not in /var/lib/tailscale.
        env = dict(os.environ, TS_LOGS_DIR=str(self.dir), **DAEMON_ENV)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                binary("tailscaled"),
                "--tun=userspace-networking",
                "--statedir=%s" % (self.dir / "state"),
                "--socket=%s" % self.socket,
                "--port=0",
                "--no-logs-no-support",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()
        wait_for(self._answers, timeout, "tailscaled %s answering on its socket" % self.name)
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError("tailscaled exited %s: %s" % (self.proc.returncode, self.log()[-3000:]))
        proc = self.cli("status", "--json")
        return proc.returncode == 0 and json.loads(proc.stdout).get("BackendState") not in ("", "NoState")

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args, timeout=60):
        return subprocess.run(
            [binary("tailscale"), "--socket=%s" % self.socket, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def status(self):
        proc = self.cli("status", "--json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start headscale in DIR in the background; print its details as JSON")
    start.add_argument("dir")
    start.add_argument("--listen", default="127.0.0.1")
    start.add_argument("--server-host", help="address the nodes use (default: --listen)")
    start.add_argument("--tags", default="", help="comma-separated tags of the pre-auth key it prints")
    stop = sub.add_parser("stop", help="stop the headscale started in DIR")
    stop.add_argument("dir")
    args = parser.parse_args(argv)
    if args.command == "start":
        server = Headscale(args.dir, args.listen, args.server_host).start(detach=True)
        tags = [t for t in args.tags.split(",") if t]
        details = {"url": server.url, "port": server.port, "pid": server.proc.pid}
        details["auth_key"] = server.preauth_key(reusable=True, tags=tags)
        (server.dir / "details.json").write_text(json.dumps(details))
        os.chmod(server.dir / "details.json", 0o600)
        print(json.dumps({"url": server.url, "details": str(server.dir / "details.json")}))
        return 0
    pid_path = Path(args.dir) / "headscale.pid"
    if pid_path.exists():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_path.read_text()), signal.SIGTERM)
        pid_path.unlink()
        print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
