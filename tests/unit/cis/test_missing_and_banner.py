"""Reasons for missing sources, WARN where a control cannot be judged, banners against the OS id."""

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

POLICY = "Authorised use only. Activity is monitored and reported.\n"


def audit(controls, root, ids):
    chosen = [c for c in controls if c["benchmark"] == "debian_linux" and c["id"] in ids]
    report = engine.run(chosen, Host(str(root)), ["debian_linux"])
    return {r["id"]: (r["status"], r["actual"]) for r in report["results"]}


def dpkg(root, *packages):
    (root / "var/lib/dpkg").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/dpkg/status").write_text(
        "".join("Package: %s\nStatus: install ok installed\nVersion: 1\n\n" % name for name in packages)
    )


def test_nothing_matches_says_which_package_is_missing(tmp_path, controls):
    dpkg(tmp_path, "nftables")
    results = audit(controls, tmp_path, {"6.2.3.20", "6.2.2.1"})
    assert results["6.2.3.20"] == ("FAIL", "nothing matches /etc/audit/rules.d/*.rules (auditd is not installed)")
    assert results["6.2.2.1"] == ("FAIL", "nothing matches /etc/audit/auditd.conf (auditd is not installed)")
    dpkg(tmp_path, "nftables", "auditd")
    results = audit(controls, tmp_path, {"6.2.3.20"})
    assert results["6.2.3.20"] == ("FAIL", "nothing matches /etc/audit/rules.d/*.rules")


def test_a_command_that_cannot_run_here_is_warn(tmp_path, controls):
    dpkg(tmp_path, "nftables")
    results = audit(controls, tmp_path, {"4.3.4"})
    assert results["4.3.4"] == ("WARN", "cannot audit: cannot run nft under root %s" % tmp_path)


def test_sshd_config_missing_while_installed_is_warn(tmp_path, controls):
    dpkg(tmp_path, "openssh-server")
    results = audit(controls, tmp_path, {"5.1.20"})
    assert results["5.1.20"] == (
        "WARN",
        "cannot audit: /etc/ssh/sshd_config does not exist though openssh-server is installed",
    )


@pytest.mark.parametrize(
    ("os_id", "banner", "status"),
    [
        ("debian", POLICY, "PASS"),
        ("debian", "Welcome to debian\n", "FAIL"),
        ("debian", "Welcome to DEBIAN\n", "FAIL"),
        ("debian", "Kernel \\R on \\M\n", "FAIL"),
        ("debian", "GNU/linux host\n", "FAIL"),
        ("ubuntu", "Ubuntu 24.04 LTS\n", "FAIL"),
        ("ubuntu", "Welcome to Debian\n", "PASS"),  # another distribution's name is not this host's
        ("raspbian", "raspbian\n", "FAIL"),
    ],
)
def test_banners_match_the_os_id_case_insensitively(tmp_path, controls, os_id, banner, status):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('PRETTY_NAME="x"\nID=%s\n' % os_id)
    for name in ("issue", "issue.net", "motd"):
        (tmp_path / "etc" / name).write_text(banner)
    results = audit(controls, tmp_path, {"1.6.1", "1.6.2", "1.6.3"})
    assert {status} == {s for s, _a in results.values()}, results
