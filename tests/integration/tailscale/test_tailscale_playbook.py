"""The tailscale role and module through ansible-playbook -vvv: idempotence, check mode, lab skip, no secret.

The join runs against a real tailscaled joined to a real Headscale; the lab skip against the stand-in
client (it must not be called at all).
"""

import json
import os
from pathlib import Path

import pytest
from headscale_server import BIN
from playbook_runner import ansible_playbook, local_inventory
from tailscale_support import AUTH_KEY, assert_no_secret

PLAYBOOK = Path(__file__).with_name("join.yml")


def runner(tmp_path, extra_vars, env, secrets):
    inventory = local_inventory(tmp_path / "hosts.yml", "nodes", "k8s-worker-01")
    vars_file = tmp_path / "secrets.json"
    vars_file.write_text(json.dumps(extra_vars))

    def run(*extra, ok=True):
        proc = ansible_playbook(PLAYBOOK, "-vvv", "-i", inventory, "-e", "@%s" % vars_file, *extra, env=env)
        assert_no_secret(proc.output)
        for secret in secrets:
            assert secret not in proc.output
        assert (proc.returncode == 0) == ok, proc.stdout[-3000:] + proc.stderr[-3000:]
        return (proc.recap("k8s-worker-01") or {}).get("changed"), proc.stdout

    return run


@pytest.mark.slow
def test_join_rerun_and_check_mode_against_headscale_never_show_the_key(tmp_path, daemons, headscale, secrets):
    node = daemons("k8s-worker-01")
    auth_key = headscale.preauth_key(tags=["tag:k8s", "tag:k8s-worker"])
    secrets.append(auth_key)
    env = {"PATH": "%s:%s" % (BIN, os.environ["PATH"])}
    play = runner(
        tmp_path,
        {
            "tailscale_auth_key": auth_key,
            "tailscale_tags": [],
            "tailscale_login_server": headscale.url,
            "tailscale_socket": node.daemon.socket,
        },
        env,
        secrets,
    )
    changed, out = play()
    assert changed == 1
    status = node.status()
    ipv4 = next(ip for ip in status["Self"]["TailscaleIPs"] if ":" not in ip)
    # The session's Headscale may have made the name unique (k8s-worker-01-<suffix>) for an earlier test.
    dns_name = status["Self"]["DNSName"].rstrip(".")
    assert "facts: %s %s" % (ipv4, dns_name) in out
    assert dns_name.startswith("k8s-worker-01") and dns_name.endswith(".ts.homelab.test")
    changed, out = play()
    assert changed == 0 and "facts: %s" % ipv4 in out
    changed, out = play("--check", "--diff", "-e", '{"tailscale_advertise_routes": ["10.0.0.0/24"]}')
    assert changed == 1 and '+    "advertise_routes": [' in out
    assert node.prefs()["AdvertiseRoutes"] is None


@pytest.mark.slow
def test_rejected_key_fails_with_the_reason_and_without_the_key(tmp_path, daemons, headscale, secrets):
    node = daemons("k8s-worker-01")
    expired = headscale.preauth_key(expiration="1s")
    secrets.append(expired)
    env = {"PATH": "%s:%s" % (BIN, os.environ["PATH"])}
    extra = {
        "tailscale_auth_key": expired,
        "tailscale_tags": [],
        "tailscale_login_server": headscale.url,
        "tailscale_socket": node.daemon.socket,
    }
    out = runner(tmp_path, extra, env, secrets)(ok=False)[1]
    assert "rejected auth_key" in out and "authkey expired" in out


def test_lab_reports_the_skip_and_leaves_the_facts_undefined(tmp_path, node):
    play = runner(tmp_path, {"tailscale_auth_key": AUTH_KEY}, node.env(), [])
    changed, out = play("-e", '{"homelab_lab": true}')
    assert changed == 0
    assert "lab-skip: tailscale: " in out
    assert "facts: undefined undefined" in out
    assert node.calls() == []
