"""The stand-in client keeps the behaviours of the real one that automation trips on (see docs/tailscale.md)."""

import json
import subprocess

import pytest
from conftest import AUTH_KEY, DOUBLES


def tailscale(node, *args):
    proc = subprocess.run(
        [str(DOUBLES / "bin" / "tailscale"), *args], capture_output=True, text=True, env=node.env(), check=False
    )
    return proc.returncode, proc.stdout, proc.stderr


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
    assert tailscale(node, "status")[:2] == (1, text)
    rc, out, _ = tailscale(node, "status", "--json")
    assert rc == 0 and not out.endswith("\n") and json.loads(out)["BackendState"] == backend


def test_stopped_daemon(node):
    node.update(daemon=False)
    rc, _, err = tailscale(node, "status", "--json")
    assert rc == 1 and "failed to connect to local tailscaled; it doesn't appear to be running" in err


@pytest.mark.parametrize("flag", ["--advertise-tags=tag:k8s", "--login-server=https://hs.example.org"])
def test_set_has_no_tags_or_login_server(node, flag):
    rc, _, err = tailscale(node, "set", flag)
    assert rc == 2 and err.startswith("flag provided but not defined: -" + flag[2:].split("=")[0])


def test_up_missing_flags_error_repeats_the_auth_key_verbatim(node):
    node.update(prefs={"ControlURL": "https://controlplane.tailscale.com", "RouteAll": True})
    rc, _, err = tailscale(node, "up", "--auth-key=" + AUTH_KEY, "--hostname=w1")
    assert rc == 1 and "requires mentioning all" in err
    assert "--auth-key=" + AUTH_KEY in err and "--accept-routes" in err


def test_health_warnings_follow_a_successful_up(node):
    node.update(health=["Some peers are advertising routes but --accept-routes is false"])
    key_file = node.path.parent / "key"
    key_file.write_text(AUTH_KEY)
    rc, out, _ = tailscale(node, "up", "--auth-key=file:%s" % key_file, "--timeout=5s", "--json")
    assert rc == 0
    document, end = json.JSONDecoder().raw_decode(out)
    assert document == {"BackendState": "Running"} and "advertising routes" in out[end:]
