"""The test hosts boot systemd and can install packages."""


def test_systemd_is_running(host):
    state = host.run("systemctl is-system-running --wait").stdout.strip()
    assert state in {"running", "degraded"}, state


def test_package_installed(host):
    assert host.package("less").is_installed
