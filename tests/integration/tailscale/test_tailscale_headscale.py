"""homelab.k8s.tailscale_node against real tailscaled daemons (userspace networking) and a real Headscale."""

import ipaddress
import re
import time

import pytest
from headscale_server import BASE_DOMAIN, USER, binary

pytestmark = pytest.mark.slow
TAILNET_V4 = ipaddress.ip_network("100.64.0.0/10")
TAILNET_V6 = ipaddress.ip_network("fd7a:115c:a1e0::/48")


WORKER_TAGS = ["tag:k8s", "tag:k8s-worker"]


def key(node, secrets, **kwargs):
    """A pre-auth key; by default tagged like a worker (Headscale takes a node's tags from its key)."""
    kwargs.setdefault("tags", WORKER_TAGS)
    value = node.headscale.preauth_key(**kwargs)
    secrets.append(value)
    return value


def join_args(node, auth_key, **extra):
    args = {
        "login_server": node.headscale.url,
        "auth_key": auth_key,
        "hostname": node.hostname,
        "tags": [],
        "accept_dns": False,
        "timeout": 60,
    }
    args.update(extra)
    return args


def joined(node, secrets, **extra):
    result = node.module(**join_args(node, key(node, secrets), **extra))
    assert result.get("failed") is not True, result
    return result


def test_join_with_a_key_and_tags_then_a_second_run_sends_nothing(real_node, secrets, record_property):
    single_use = key(real_node, secrets)
    start = time.monotonic()
    first = real_node.module(subprocess_run=True, **join_args(real_node, single_use))
    join_seconds = time.monotonic() - start
    assert first.get("failed") is not True, first
    assert first["changed"] is True and first["backend_state"] == "Running"
    assert ipaddress.ip_address(first["ipv4"]) in TAILNET_V4
    assert ipaddress.ip_address(first["ipv6"]) in TAILNET_V6
    assert first["dns_name"] == "%s.%s" % (real_node.hostname, BASE_DOMAIN)
    assert sorted(first["tags"]) == ["tag:k8s", "tag:k8s-worker"]
    assert first["diff"]["before"]["state"] == "absent" and first["diff"]["after"]["state"] == "up"
    assert first["commands"][0].startswith("up ") and "--auth-key=file:********" in first["commands"][0]
    registered = real_node.headscale.node(real_node.hostname)
    assert sorted(registered["tags"]) == ["tag:k8s", "tag:k8s-worker"]
    assert first["ipv4"] in registered["ip_addresses"]

    # The key was single-use: were it sent again, headscale would refuse it.
    start = time.monotonic()
    second = real_node.module(subprocess_run=True, **join_args(real_node, single_use))
    noop_seconds = time.monotonic() - start
    assert second.get("failed") is not True, second
    assert second["changed"] is False and second["commands"] == [] and second["changed_prefs"] == []
    assert second["ipv4"] == first["ipv4"]
    assert real_node.headscale.node(real_node.hostname)["id"] == registered["id"]
    record_property("join_seconds", round(join_seconds, 2))
    record_property("noop_seconds", round(noop_seconds, 2))
    print("tailscale_node against headscale: join %.2fs, no-op rerun %.2fs" % (join_seconds, noop_seconds))


def test_preference_changes_use_set_without_a_new_login(real_node, secrets):
    first = joined(real_node, secrets)
    node_key = real_node.status()["Self"]["PublicKey"]
    changed = real_node.module(
        **join_args(real_node, "", advertise_routes=["10.77.0.0/24"], accept_routes=True, shields_up=True)
    )
    assert changed["changed"] is True, changed
    assert changed["changed_prefs"] == ["advertise_routes", "accept_routes", "shields_up"]
    assert changed["commands"] == ["set --advertise-routes=10.77.0.0/24 --accept-routes=true --shields-up=true"]
    prefs = real_node.prefs()
    assert prefs["AdvertiseRoutes"] == ["10.77.0.0/24"] and prefs["RouteAll"] and prefs["ShieldsUp"]
    assert real_node.status()["Self"]["PublicKey"] == node_key, "a preference change must not log in again"
    assert changed["ipv4"] == first["ipv4"]

    def announced():
        node = real_node.headscale.node(real_node.hostname)
        return "10.77.0.0/24" in (node.get("available_routes") or [])

    deadline = time.monotonic() + 20
    while not announced() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert announced(), "headscale never saw the advertised route"
    again = real_node.module(**join_args(real_node, "", advertise_routes=["10.77.0.0/24"], accept_routes=True))
    assert again["changed"] is False and again["commands"] == []


def test_check_mode_reports_and_changes_nothing(real_node, secrets):
    planned = real_node.module(check=True, **join_args(real_node, key(real_node, secrets)))
    assert planned["changed"] is True and planned["commands"][0].startswith("up ")
    assert planned["diff"]["after"]["hostname"] == real_node.hostname
    assert real_node.status()["BackendState"] == "NeedsLogin"
    assert real_node.headscale.node(real_node.hostname) is None
    joined(real_node, secrets)
    routes = real_node.module(check=True, **join_args(real_node, "", advertise_routes=["10.78.0.0/24"]))
    assert routes["changed"] is True and routes["commands"] == ["set --advertise-routes=10.78.0.0/24"]
    assert routes["diff"]["after"]["advertise_routes"] == ["10.78.0.0/24"]
    assert routes["diff"]["before"]["advertise_routes"] == []
    assert real_node.prefs()["AdvertiseRoutes"] is None


def test_down_up_and_absent(real_node, secrets):
    joined(real_node, secrets)
    down = real_node.module(state="down")
    assert down["changed"] is True and down["backend_state"] == "Stopped"
    assert real_node.module(state="down")["changed"] is False
    up = real_node.module(**join_args(real_node, ""))
    assert up["changed"] is True and up["backend_state"] == "Running"
    assert not any("--auth-key" in command for command in up["commands"])
    absent = real_node.module(state="absent")
    assert absent["changed"] is True and absent["backend_state"] == "NeedsLogin"
    assert real_node.module(state="absent")["changed"] is False
    # A tagged node has no key expiry: Headscale keeps it after the logout (until `headscale nodes delete`).
    assert real_node.headscale.node(real_node.hostname)["tags"] == ["tag:k8s", "tag:k8s-worker"]


def test_expired_used_and_unknown_keys_are_explained(daemons, secrets):
    first, second = daemons("n-key-user"), daemons("n-key-refused")
    used = key(first, secrets)
    assert first.module(**join_args(first, used))["backend_state"] == "Running"
    expired = key(second, secrets, expiration="1s")
    time.sleep(1.5)
    unknown = "hskey-auth-aaaaaaaaaaaa-" + "b" * 64
    malformed = "hskey-auth-S3cretTooShort"
    secrets.extend([unknown, malformed])
    cases = ((used, "already used"), (expired, "expired"), (unknown, "invalid"), (malformed, "key too short"))
    for auth_key, reason in cases:
        result = second.module(**join_args(second, auth_key))
        assert result["failed"] is True, result
        assert "rejected auth_key" in result["msg"] and reason in result["msg"], result["msg"]
        assert "headscale preauthkeys create" in result["msg"]
        assert second.status()["BackendState"] == "NeedsLogin"
    assert second.headscale.node(second.hostname) is None


def test_tags_advertised_at_a_key_login_are_refused_and_explained(real_node, secrets):
    # Headscale takes a node's tags from its pre-auth key and refuses tags advertised at a key
    # login, even tags the key's user owns in tagOwners.
    user_key = key(real_node, secrets, tags=())
    result = real_node.module(**join_args(real_node, user_key, tags=["tag:k8s"]))
    assert result["failed"] is True
    assert "requested tags [tag:k8s] are invalid or not permitted" in result["msg"], result["msg"]
    assert "headscale preauthkeys create --tags" in result["msg"] and "leave tags empty" in result["msg"]
    assert real_node.headscale.node(real_node.hostname) is None
    assert real_node.status()["BackendState"] == "NeedsLogin"


def test_a_node_waiting_for_registration_names_the_url_then_joins_once_registered(real_node):
    # An interactive login (no key) leaves the node waiting for the admin: `headscale auth register`.
    wait = real_node.daemon.cli("up", "--login-server=" + real_node.headscale.url, "--timeout=3s", "--hostname=x")
    assert wait.returncode != 0
    auth_url = real_node.status()["AuthURL"]
    assert auth_url.startswith(real_node.headscale.url + "/register/")
    refused = real_node.module(**join_args(real_node, ""))
    assert refused["failed"] is True and "no auth_key" in refused["msg"] and auth_url in refused["msg"]
    real_node.headscale.cli("auth", "register", "--auth-id", auth_url.rsplit("/", 1)[1], "--user", USER)
    deadline = time.monotonic() + 30
    while real_node.status()["BackendState"] != "Running" and time.monotonic() < deadline:
        time.sleep(0.2)
    result = real_node.module(**join_args(real_node, ""))
    assert result.get("failed") is not True, result
    assert result["backend_state"] == "Running" and result["ipv4"]
    assert not any("--auth-key" in command for command in result["commands"])


def test_prefs_left_by_a_failed_login_block_up_with_an_explanation_and_no_key(real_node, secrets):
    # A failed first login keeps its preferences; the next `up` must mention them, and the
    # suggested command the client prints repeats --auth-key (here the file, never the key).
    failed = real_node.daemon.cli(
        "up", "--login-server=" + real_node.headscale.url, "--auth-key=hskey-auth-bad", "--snat-subnet-routes=false"
    )
    assert failed.returncode != 0 and real_node.prefs()["NoSNAT"] is True
    result = real_node.module(**join_args(real_node, key(real_node, secrets)))
    assert result["failed"] is True
    assert "not managed here" in result["msg"] and "--snat-subnet-routes=false" in result["msg"], result["msg"]
    assert "--auth-key=file:" in result["msg"]
    assert real_node.status()["BackendState"] == "NeedsLogin"


def test_tailscaled_stopped(real_node):
    real_node.daemon.stop()
    result = real_node.module(**join_args(real_node, "hskey-auth-unused"))
    assert result["failed"] is True
    assert "tailscaled is not running" in result["msg"] and real_node.daemon.socket in result["msg"]


def test_two_nodes_see_each_other_and_ping_over_the_tailnet(daemons, secrets):
    first, second = daemons("n-peer-one"), daemons("n-peer-two")
    ips = {}
    for node in (first, second):
        ips[node.hostname] = joined(node, secrets)["ipv4"]

    def peer_of(node, other):
        peers = node.status().get("Peer") or {}
        return [p for p in peers.values() if p["HostName"] == other.hostname]

    deadline = time.monotonic() + 30
    while not (peer_of(first, second) and peer_of(second, first)) and time.monotonic() < deadline:
        time.sleep(0.2)
    (peer,) = peer_of(first, second)
    assert ips[second.hostname] in peer["TailscaleIPs"] and sorted(peer["Tags"]) == WORKER_TAGS
    assert peer_of(second, first)
    ping = first.daemon.cli("ping", "--c=10", "--timeout=5s", ips[second.hostname], timeout=90)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert re.search(r"pong from %s \(%s\)" % (second.hostname, re.escape(ips[second.hostname])), ping.stdout)


def test_the_tailscale_client_judges_tags_before_any_change(real_node, secrets):
    """The module repeats none of Tailscale's tag rules: the real client refuses a bad tag, names why,
    and the node is left as it was (still logged out, the key unused)."""
    before = real_node.prefs()
    single_use = key(real_node, secrets, tags=())
    refused = real_node.module(**join_args(real_node, single_use, tags=["tag:k8s_worker"]))
    assert refused["failed"] is True
    assert "tag names can only contain numbers, letters, or dashes" in refused["msg"]
    assert real_node.status()["BackendState"] == "NeedsLogin"
    assert real_node.prefs()["ControlURL"] == before["ControlURL"]
    joined = real_node.module(**join_args(real_node, single_use))
    assert joined.get("failed") is not True and joined["backend_state"] == "Running", joined


def test_a_release_outside_the_supported_range_is_refused_before_any_change(real_node, tmp_path):
    """tailscale_node reads `tailscale debug prefs` only from supported releases."""
    wrapper = tmp_path / "tailscale"
    # the real client behind a wrapper that reports another release
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$2" = version ] || [ "$1" = version ]; then echo \'{"majorMinorPatch": "1.80.0"}\'; exit 0; fi\n'
        'exec %s "$@"\n' % binary("tailscale")
    )
    wrapper.chmod(0o755)
    refused = real_node.module(tailscale_binary=str(wrapper), hostname=real_node.hostname)
    assert refused["failed"] is True and "tailscale 1.80.0 is outside the supported range" in refused["msg"]
    assert refused["commands"] == []
    # past the check, the module reads the node (logged out: nothing to remove)
    allowed = real_node.module(tailscale_binary=str(wrapper), state="absent", check_version=False)
    assert allowed.get("failed") is not True, allowed
    assert allowed["changed"] is False
