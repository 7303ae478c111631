"""homelab.k8s.tailscale_node against the stand-in `tailscale` client, for what the real daemon cannot show here.

Joining, reruns, check mode, `set`, down/up/absent, rejected keys and tags, a node waiting for
registration, preferences left by a failed login and a stopped daemon run against real tailscaled
and Headscale in test_tailscale_headscale.py. Here: what the key file looks like to the client,
Tailscale's hosted control plane (device approval, OAuth client secrets, tags applied after login),
exit nodes by name, the SSH-over-Tailscale abort, a daemon in NoState, and input refused before any
client runs.
"""

import os

from tailscale_support import AUTH_KEY, OAUTH_SECRET

JOIN = {"auth_key": AUTH_KEY, "hostname": "k8s-worker-01", "tags": ["tag:k8s"], "accept_dns": False, "timeout": 30}


def joined(node, **extra):
    result = node.module(**dict(JOIN, **extra))
    assert result.get("failed") is not True, result
    return result


def test_first_join_logs_in_through_a_key_file_and_returns_the_addresses(node):
    node.update(health=["Some peers are advertising routes but --accept-routes is false"])
    result = node.module(subprocess_run=True, advertise_routes=["10.0.0.0/24"], **JOIN)
    assert result["changed"] is True
    assert result["backend_state"] == "Running"
    assert (result["ipv4"], result["ipv6"]) == ("100.101.102.103", "fd7a:115c:a1e0::1")
    assert result["dns_name"] == "k8s-worker-01.tail1234.ts.net"
    assert result["tags"] == ["tag:k8s"]
    assert result["primary_routes"] == ["10.0.0.0/24"]
    assert result["diff"]["before"]["state"] == "absent" and result["diff"]["after"]["state"] == "up"
    (up,) = node.changing_calls()
    key_args = [a for a in up if a.startswith("--auth-key=")]
    assert len(key_args) == 1 and key_args[0].startswith("--auth-key=file:")
    assert not os.path.exists(key_args[0][len("--auth-key=file:") :]), "the key file must be removed"
    assert any(a.startswith("--timeout=30s") for a in up)


def test_tag_change_reruns_up_without_the_key(node):
    joined(node)
    calls = len(node.calls())
    result = joined(node, tags=["tag:k8s", "tag:k8s-worker"])
    assert result["tags"] == ["tag:k8s", "tag:k8s-worker"]
    (up,) = [c for c in node.calls()[calls:] if c[0] in ("up", "set")]
    assert up[0] == "up" and not any(a.startswith("--auth-key") for a in up)
    assert joined(node, tags=["tag:k8s-worker", "tag:k8s"])["changed"] is False


def test_device_approval_names_the_admin_console_step(node):
    node.update(control={"device_approval": True})
    result = node.module(**JOIN)
    assert result["failed"] is True and "Machines > this machine > Approve" in result["msg"]
    assert node.load()["backend_state"] == "NeedsMachineAuth"
    again = node.module(**JOIN)
    assert again["failed"] is True and "Approve" in again["msg"]
    assert len([c for c in node.changing_calls() if c[0] == "up"]) == 1, "no second login while waiting"


def test_oauth_client_secret_joins_with_its_attributes(node):
    result = node.module(
        auth_key=OAUTH_SECRET, auth_key_ephemeral=False, auth_key_preauthorized=True, tags=["tag:k8s"], timeout=30
    )
    assert result["backend_state"] == "Running"
    missing_tags = node.module(auth_key=OAUTH_SECRET, state="absent")
    assert missing_tags["changed"] is True
    refused = node.module(auth_key=OAUTH_SECRET, tags=[])
    assert refused["failed"] is True and "OAuth" in refused["msg"]


def test_exit_node_by_name_is_idempotent_once_tailscaled_stores_its_id(node):
    joined(node)
    first = joined(node, exit_node="exit-1")
    assert first["changed"] is True and node.load()["prefs"]["ExitNodeID"] == "nEXIT1CNTRL"
    assert joined(node, exit_node="exit-1")["changed"] is False


def test_ssh_toggle_over_a_tailscale_session_needs_an_explicit_risk_decision(node):
    joined(node)
    node.update(ssh_over_tailscale=True)
    refused = node.module(**dict(JOIN, ssh=True))
    assert refused["failed"] is True and "accept_risk_lose_ssh" in refused["msg"]
    assert node.load()["prefs"]["RunSSH"] is False
    accepted = joined(node, ssh=True, accept_risk_lose_ssh=True)
    assert accepted["changed"] is True and node.load()["prefs"]["RunSSH"] is True


def test_missing_client_binary(node, tmp_path):
    result = node.module(tailscale_binary=str(tmp_path / "nowhere" / "tailscale"), **JOIN)
    assert result["failed"] is True and "was not found" in result["msg"]


def test_bad_input_is_refused_before_the_client_runs(node):
    result = node.module(hostname="bad_name", advertise_routes=["10.0.0.1/24"], auth_key=AUTH_KEY)
    assert result["failed"] is True and "'bad_name'" in result["msg"] and "10.0.0.1/24" in result["msg"]
    assert node.calls() == []


def test_nostate_daemon_is_reported(node):
    node.update(backend_state="NoState")
    result = node.module(**JOIN)
    assert result["failed"] is True and "NoState" in result["msg"]
