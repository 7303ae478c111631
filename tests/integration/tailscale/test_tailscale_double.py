"""The stand-in client keeps the behaviours of the real one that automation trips on (see docs/tailscale.md)."""

import json
import subprocess

import pytest
from tailscale_support import AUTH_KEY, DOUBLES


def tailscale(node, *args):
    return subprocess.run(
        [str(DOUBLES / "bin" / "tailscale"), *args], capture_output=True, text=True, env=node.env(), check=False
    )


@pytest.mark.parametrize(
    ("backend", "text"),
    [
        ("NeedsLogin", "Logged out.\n"),
        ("NeedsMachineAuth", "Machine is not yet approved by tailnet admin.\n"),
        ("Stopped", "Tailscale is stopped.\n"),
    ],
)
def test_status_exits_1_outside_running_but_json_always_answers(node, backend, text):
    node.update(backend_state=backend)
    text_status = tailscale(node, "status")
    assert (text_status.returncode, text_status.stdout) == (1, text)
    proc = tailscale(node, "status", "--json")
    assert proc.returncode == 0 and not proc.stdout.endswith("\n")
    assert json.loads(proc.stdout)["BackendState"] == backend


def test_stopped_daemon(node):
    node.update(daemon=False)
    proc = tailscale(node, "status", "--json")
    assert proc.returncode == 1
    assert "failed to connect to local tailscaled; it doesn't appear to be running" in proc.stderr


@pytest.mark.parametrize("flag", ["--advertise-tags=tag:k8s", "--login-server=https://hs.example.org"])
def test_set_has_no_tags_or_login_server(node, flag):
    proc = tailscale(node, "set", flag)
    assert proc.returncode == 2
    assert proc.stderr.startswith("flag provided but not defined: -" + flag[2:].split("=")[0])


def test_up_missing_flags_error_repeats_the_auth_key_verbatim(node):
    node.update(prefs={"ControlURL": "https://controlplane.tailscale.com", "RouteAll": True})
    proc = tailscale(node, "up", "--auth-key=" + AUTH_KEY, "--hostname=w1")
    assert proc.returncode == 1 and "requires mentioning all" in proc.stderr
    assert "--auth-key=" + AUTH_KEY in proc.stderr and "--accept-routes" in proc.stderr


def test_health_warnings_follow_a_successful_up(node):
    node.update(health=["Some peers are advertising routes but --accept-routes is false"])
    key_file = node.path.parent / "key"
    key_file.write_text(AUTH_KEY)
    proc = tailscale(node, "up", "--auth-key=file:%s" % key_file, "--timeout=5s", "--json")
    assert proc.returncode == 0
    document, end = json.JSONDecoder().raw_decode(proc.stdout)
    assert document == {"BackendState": "Running"} and "advertising routes" in proc.stdout[end:]
