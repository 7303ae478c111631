"""Fixtures for the tests against real tailscaled daemons joined to a real Headscale server."""

import json
import os
import time

import pytest
from headscale_server import REPO, Headscale, Tailscaled, binary
from tailscale_support import run_tailscale_node


class RealNode:
    """One tailscaled and helpers to run tailscale_node against it."""

    def __init__(self, daemon, headscale, monkeypatch, secrets):
        self.daemon = daemon
        self.headscale = headscale
        self.monkeypatch = monkeypatch
        self.secrets = secrets

    @property
    def hostname(self):
        return self.daemon.name

    def status(self):
        return self.daemon.status()

    def prefs(self):
        proc = self.daemon.cli("debug", "prefs")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def module(self, check=False, subprocess_run=False, **args):
        """Run tailscale_node with its arguments as Ansible passes them; returns its JSON result."""
        args.setdefault("_ansible_diff", True)
        args.setdefault("socket", self.daemon.socket)
        args.setdefault("tailscale_binary", binary("tailscale"))
        args["_ansible_check_mode"] = check
        env = dict(os.environ, PYTHONPATH=str(REPO / ".cache" / "collections"))
        return run_tailscale_node(
            args, self.daemon.dir, env, self.monkeypatch, self.assert_no_secret, subprocess_run=subprocess_run
        )

    def timed(self, **args):
        start = time.monotonic()
        result = self.module(**args)
        return result, time.monotonic() - start

    def assert_no_secret(self, text):
        for secret in self.secrets:
            assert secret not in text


@pytest.fixture(scope="session")
def headscale(tmp_path_factory):
    server = Headscale(tmp_path_factory.mktemp("headscale"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def secrets():
    """Every key a test makes; none of them may appear in any output."""
    return []


@pytest.fixture
def daemons(tmp_path, headscale, monkeypatch, secrets):
    """Factory: start another tailscaled (stopped again at the end of the test)."""
    started = []

    def start(name):
        daemon = Tailscaled(tmp_path / name, name)
        started.append(daemon)
        daemon.start()
        return RealNode(daemon, headscale, monkeypatch, secrets)

    try:
        yield start
    finally:
        for daemon in started:
            # Log out first so that headscale does not keep counting the node as online.
            if daemon.proc and daemon.proc.poll() is None:
                daemon.cli("logout", timeout=15)
            daemon.stop()


@pytest.fixture
def real_node(daemons, request):
    return daemons(request.node.name.split("[")[0].replace("test_", "n-").replace("_", "-")[:40].rstrip("-"))
