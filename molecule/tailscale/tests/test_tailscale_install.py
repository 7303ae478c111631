"""The tailscale role on real Debian hosts: binaries, tailscaled under systemd, joined to a real Headscale."""

import json
import time

import pytest

HOSTS = ("tailscale-debian12", "tailscale-debian13")


def status(host):
    return json.loads(host.check_output("tailscale status --json"))


def test_apt_repository_is_trusted_only_with_its_key(host):
    key = host.file("/usr/share/keyrings/tailscale-archive-keyring.gpg")
    assert key.is_file and key.user == "root" and key.mode == 0o644
    sources = host.file("/etc/apt/sources.list.d/tailscale.sources").content_string
    assert "URIs: https://pkgs.tailscale.com/stable/debian" in sources and "Components: main" in sources
    assert "Signed-By: /usr/share/keyrings/tailscale-archive-keyring.gpg" in sources


def test_newest_local_deb_of_the_host_architecture_was_selected(host):
    assert host.file("/var/cache/homelab/tailscale").listdir() == ["tailscale_1.90.6_amd64.deb"]
    assert not host.package("tailscale").is_installed, "the .deb fixtures are not packages"


def test_binaries_from_the_local_directory_are_installed(host):
    for path in ("/usr/bin/tailscale", "/usr/sbin/tailscaled"):
        binary = host.file(path)
        assert binary.is_file and binary.user == "root" and binary.mode == 0o755
    assert host.check_output("tailscale version").splitlines()[0].startswith("1.102.5")


def test_tailscaled_runs_under_systemd_in_userspace_networking(host):
    service = host.service("tailscaled")
    assert service.is_running and service.is_enabled
    settings = host.file("/etc/default/tailscaled").content_string
    assert 'PORT="41641"' in settings and 'FLAGS="--tun=userspace-networking --no-logs-no-support"' in settings
    assert 'TS_DEBUG_USE_DERP_HTTP="1"' in settings
    assert "--tun=userspace-networking" in host.check_output("ps -o args= -C tailscaled")


def test_joined_headscale_with_the_tags_and_the_facts_match(host):
    state = status(host)
    assert state["BackendState"] == "Running"
    me = state["Self"]
    assert sorted(me["Tags"]) == ["tag:k8s", "tag:k8s-worker"]
    assert state["CurrentTailnet"]["MagicDNSSuffix"] == "ts.homelab.test"
    facts = json.loads(host.file("/var/lib/tailscale/facts.json").content_string)
    assert facts["ipv4"] in me["TailscaleIPs"] and facts["ipv6"] in me["TailscaleIPs"]
    assert facts["ipv4"].startswith("100.") and facts["ipv6"].startswith("fd7a:115c:a1e0:")
    assert facts["dns_name"] == me["DNSName"].rstrip(".")
    assert facts["dns_name"] == host.backend.hostname + ".ts.homelab.test"


@pytest.mark.parametrize("peer_name", HOSTS)
def test_hosts_see_each_other_and_ping_through_the_relay(host, peer_name):
    if peer_name == host.backend.hostname:
        pytest.skip("a host is not its own peer")
    deadline = time.monotonic() + 30
    while True:
        peers = [p for p in (status(host).get("Peer") or {}).values() if p["HostName"] == peer_name]
        if peers or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert peers, "%s does not see %s in tailscale status" % (host.backend.hostname, peer_name)
    ipv4 = next(ip for ip in peers[0]["TailscaleIPs"] if ":" not in ip)
    # Each host has its own slirp4netns network: no direct path, so the pong comes through the
    # relay (`tailscale ping` exits 1 when it never gets a direct path, unless --until-direct=false).
    ping = host.run("tailscale ping --until-direct=false --c=10 --timeout=5s %s", ipv4)
    assert ping.rc == 0, ping.stdout + ping.stderr
    assert "pong from %s (%s) via DERP(headscale)" % (peer_name, ipv4) in ping.stdout
