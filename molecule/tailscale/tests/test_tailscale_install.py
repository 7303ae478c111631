"""What the tailscale role set up before the package step, on the real Debian host."""


def test_repository_key_is_in_place(host):
    key = host.file("/usr/share/keyrings/tailscale-archive-keyring.gpg")
    assert key.is_file and key.user == "root" and key.mode == 0o644


def test_repository_is_trusted_only_with_that_key(host):
    sources = host.file("/etc/apt/sources.list.d/tailscale.sources").content_string
    assert "URIs: https://pkgs.tailscale.com/stable/debian" in sources
    assert "Suites: bookworm" in sources and "Components: main" in sources
    assert "Signed-By: /usr/share/keyrings/tailscale-archive-keyring.gpg" in sources


def test_newest_package_of_the_host_architecture_was_selected(host):
    cached = host.file("/var/cache/homelab/tailscale").listdir()
    assert cached == ["tailscale_1.90.6_amd64.deb"]


def test_nothing_pretends_tailscale_is_installed(host):
    assert not host.package("tailscale").is_installed
    assert not host.exists("tailscale")
