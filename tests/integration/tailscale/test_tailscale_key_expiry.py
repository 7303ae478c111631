"""playbooks/maintenance.yml --tags tailscale_keys against a real tailscaled joined to a real Headscale.

Headscale sets the node's key expiry (`headscale nodes expire`); the node learns it from its map
and shows it as Self.KeyExpiry in `tailscale status --json`, which the play reads. A second host
of the inventory has no Tailscale: it is reported, not failed.
"""

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from headscale_server import binary
from playbook_runner import ansible_playbook

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "maintenance.yml"


def set_expiry(node, when):
    """Let Headscale set the node's expiry (None: disabled), then wait until the node shows it."""
    (registered,) = [n for n in node.headscale.nodes() if n.get("given_name") == node.hostname]
    args = ["nodes", "expire", "-i", str(registered["id"]), "--force"]
    args += ["--disable"] if when is None else ["-e", when.strftime("%Y-%m-%dT%H:%M:%SZ")]
    node.headscale.cli(*args)
    wanted = None if when is None else when.strftime("%Y-%m-%dT%H:%M:%S")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = node.status().get("Self", {}).get("KeyExpiry")
        if (wanted and shown and shown.startswith(wanted)) or (wanted is None and not shown):
            return
        time.sleep(0.5)
    pytest.fail("the node did not learn its expiry %s: %s" % (wanted, node.status().get("Self", {}).get("KeyExpiry")))


def run(tmp_path, node, *args):
    local = {"ansible_connection": "local", "ansible_become": False, "ansible_python_interpreter": sys.executable}
    inventory = {
        "k8s_cluster": {
            "children": {
                "k8s_control_plane": {
                    "hosts": {
                        node.hostname: {
                            **local,
                            "tailscale_keys_binary": str(binary("tailscale")),
                            "tailscale_keys_socket": node.daemon.socket,
                            "tailscale_keys_metrics_dir": str(tmp_path / "metrics"),
                        },
                        "no-tailscale": {**local, "tailscale_keys_binary": str(tmp_path / "absent" / "tailscale")},
                    }
                }
            }
        }
    }
    (tmp_path / "hosts.json").write_text(json.dumps(inventory))
    started = time.monotonic()
    done = ansible_playbook(
        PLAYBOOK,
        "-i",
        tmp_path / "hosts.json",
        "-e",
        "maintenance_state_dir=%s" % (tmp_path / "state"),
        "--tags",
        "tailscale_keys",
        *args,
        env={"ANSIBLE_STDOUT_CALLBACK": "default"},
    )
    report = json.loads((tmp_path / "state" / "summaries" / "latest.json").read_text()) if done.returncode == 0 else {}
    return done, report.get("hosts", {}), time.monotonic() - started


def test_a_key_close_to_expiry_is_named_a_far_one_is_not(daemons, secrets, tmp_path):
    node = daemons("keys-node")
    key = node.headscale.preauth_key()
    secrets.append(key)
    joined = node.daemon.cli(
        "up",
        "--login-server=%s" % node.headscale.url,
        "--auth-key=%s" % key,
        "--hostname=keys-node",
        "--accept-dns=false",
    )
    assert joined.returncode == 0, joined.stderr
    metric = tmp_path / "metrics" / "homelab_tailscale_keys.prom"

    near = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    set_expiry(node, near)
    warned, hosts, took = run(tmp_path, node)
    assert warned.returncode == 0, warned.stdout[-5000:]
    assert "the Tailscale node key of keys-node expires on %s" % near.strftime("%Y-%m-%dT%H:%M:%SZ") in warned.stdout
    assert hosts["keys-node"]["tailscale_keys"]["state"] == "expiring"
    assert 2.9 <= hosts["keys-node"]["tailscale_keys"]["days_left"] <= 3.0
    assert hosts["no-tailscale"]["tailscale_keys"]["state"] == "unavailable"
    assert warned.recap("no-tailscale")["failed"] == 0
    assert "homelab_tailscale_node_key_expiry_timestamp_seconds %d" % near.timestamp() in metric.read_text()

    failed, _hosts, _took = run(tmp_path, node, "-e", "tailscale_keys_fail=true")
    assert failed.returncode != 0
    assert failed.recap("keys-node")["failed"] == 1 and failed.recap("no-tailscale")["failed"] == 0
    assert "and tailscale_keys_fail is true" in failed.stdout

    far = near + timedelta(days=200)
    set_expiry(node, far)
    quiet, hosts, _took = run(tmp_path, node)
    assert quiet.returncode == 0, quiet.stdout[-5000:]
    assert "expires on" not in quiet.stdout
    assert hosts["keys-node"]["tailscale_keys"]["state"] == "ok"
    again, _hosts, again_took = run(tmp_path, node)
    assert again.recap("keys-node")["changed"] == 0 and again.recap("no-tailscale")["changed"] == 0, again.stdout
    assert "%d" % far.timestamp() in metric.read_text()

    set_expiry(node, None)
    disabled, hosts, _took = run(tmp_path, node)
    assert disabled.returncode == 0, disabled.stdout[-5000:]
    assert hosts["keys-node"]["tailscale_keys"]["state"] == "expiry disabled"
    assert not metric.exists()
    for done in (warned, failed, quiet, again, disabled):
        assert key not in done.output
    print("\ntailscale_keys: run with a warning %.0f s, idempotent run %.0f s" % (took, again_took))
