"""The audit of a stock Debian host: named controls FAIL as the host really is, the score is reported."""

import json
import os
from pathlib import Path

import pytest


@pytest.fixture
def report(host):
    name = host.backend.get_hostname()
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "cis" / f"{name}.json"
    data = json.loads(path.read_text())
    print(f"{name}: CIS score {data['score']}% {data['counts']}")
    return data


def status(report, control_id):
    (result,) = [r for r in report["results"] if r["id"] == control_id]
    return result


def test_score_reported(report):
    counts = report["counts"]
    assert report["benchmarks"] == ["debian_linux"]
    assert report["container"] is True
    assert report["score"] == round(100.0 * counts["PASS"] / (counts["PASS"] + counts["FAIL"]), 1)
    assert counts["FAIL"] > 20 and counts["PASS"] > 20


def test_stock_sshd_settings_fail(host, report):
    effective = host.check_output("sshd -T -C user=root,host=localhost,addr=127.0.0.1")
    assert "permitrootlogin without-password" in effective
    assert "maxauthtries 6" in effective
    assert status(report, "5.1.20")["status"] == "FAIL"
    assert "permitrootlogin=without-password" in status(report, "5.1.20")["actual"]
    assert status(report, "5.1.16")["status"] == "FAIL"
    assert status(report, "5.1.5")["status"] == "FAIL"  # Banner none
    assert status(report, "5.1.19")["status"] == "PASS"  # PermitEmptyPasswords no
    assert status(report, "5.1.22")["status"] == "PASS"  # UsePAM yes (Debian's sshd_config)


def test_stock_file_modes_and_login_defs(host, report):
    assert host.file("/etc/crontab").mode == 0o644
    assert status(report, "2.4.1.2")["status"] == "FAIL"
    assert host.file("/etc/passwd").mode == 0o644
    assert status(report, "7.1.1")["status"] == "PASS"
    assert "PASS_MAX_DAYS\t99999" in host.file("/etc/login.defs").content_string
    assert status(report, "5.4.1.1")["status"] == "FAIL"
    assert status(report, "5.3.3.4.1")["status"] == "FAIL"  # pam_unix nullok in common-auth


def test_container_limits_are_skipped_with_reason(report):
    for control_id in ("1.1.2.1.1", "1.4.2", "6.2.1.2"):
        result = status(report, control_id)
        assert result["status"] == "SKIP"
        # the SKIP names what showed the container: podman leaves /run/.containerenv
        assert result["actual"].startswith("container (podman (/run/.containerenv)"), result["actual"]
    assert "podman (/run/.containerenv)" in report["container_reason"]
    assert status(report, "1.1.1.6")["actual"] == "skipped: overlayfs is what container runtimes use"


def test_kernel_settings_judged_by_configuration(host, report):
    assert not host.file("/etc/modprobe.d/cramfs.conf").exists
    assert status(report, "1.1.1.1")["status"] == "FAIL"
    assert status(report, "1.1.1.1")["actual"] == "cramfs: disabled=false, blacklisted=false, loaded not set"
    assert status(report, "3.3.10")["status"] == "FAIL"
    assert status(report, "3.3.10")["actual"] == "configured: net.ipv4.tcp_syncookies not set"


def test_absent_packages_are_not_applicable(host, report):
    assert not host.package("nftables").is_installed
    assert status(report, "4.3.9")["status"] == "INFO"
    assert status(report, "4.3.1")["status"] == "FAIL"
