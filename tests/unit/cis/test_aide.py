"""AIDE controls (6.3.x and HL.6.3.1) on trees laid out as Debian's aide and aide-common install them."""

from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

IDS = {"6.3.1", "HL.6.3.1", "6.3.2", "6.3.3"}
TOOLS = ("auditctl", "auditd", "ausearch", "aureport", "autrace", "augenrules")
TIMER = "[Unit]\nDescription=Daily AIDE check\n[Timer]\nOnCalendar=*-*-* 01:50:00\n[Install]\nWantedBy=timers.target\n"


def audit(controls, root):
    chosen = [c for c in controls if c["benchmark"] == "debian_linux" and c["id"] in IDS]
    return {
        r["id"]: (r["status"], r["actual"]) for r in engine.run(chosen, Host(str(root)), ["debian_linux"])["results"]
    }


def base(root, packages):
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "".join("Package: %s\nStatus: install ok installed\nVersion: 0.18.3\n\n" % p for p in packages)
    )
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n")
    return root


def test_hardened_aide(tmp_path, controls):
    root = base(tmp_path, ["aide", "aide-common"])
    (root / "etc/aide/aide.conf.d").mkdir(parents=True)
    (root / "etc/aide/aide.conf").write_text(
        "database_in=file:/var/lib/aide/aide.db\n@@x_include /etc/aide/aide.conf.d\n"
    )
    (root / "etc/aide/aide.conf.d/99_aide_audit_tools").write_text(
        "".join("/usr/sbin/%s p+i+n+u+g+s+b+acl+xattrs+sha512\n" % tool for tool in TOOLS)
    )
    (root / "var/lib/aide").mkdir(parents=True)
    (root / "var/lib/aide/aide.db").write_bytes(b"\x1f\x8b")
    (root / "var/lib/aide/aide.db").chmod(0o600)
    (root / "lib/systemd/system").mkdir(parents=True)
    (root / "lib/systemd/system/dailyaidecheck.timer").write_text(TIMER)
    (root / "etc/systemd/system/timers.target.wants").mkdir(parents=True)
    (root / "etc/systemd/system/timers.target.wants/dailyaidecheck.timer").symlink_to(
        "/lib/systemd/system/dailyaidecheck.timer"
    )
    results = audit(controls, root)
    assert {i: s for i, (s, _a) in results.items()} == dict.fromkeys(IDS, "PASS")


def test_aide_absent_fails_with_reasons(tmp_path, controls):
    results = audit(controls, base(tmp_path, ["auditd"]))
    assert results["6.3.1"] == ("FAIL", "dpkg: aide.installed=false, aide-common.installed=false")
    assert results["HL.6.3.1"] == ("FAIL", "nothing matches /var/lib/aide/aide.db (aide is not installed)")
    assert results["6.3.2"] == ("FAIL", "systemd: enabled=not-found")
    assert results["6.3.3"][1].endswith("(aide is not installed)")


def test_installed_but_not_initialised_nor_protecting_audit_tools(tmp_path, controls):
    root = base(tmp_path, ["aide", "aide-common"])
    (root / "etc/aide").mkdir(parents=True)
    (root / "etc/aide/aide.conf").write_text(
        "/usr/sbin/auditctl p+i+n+u+g+s+b+acl+xattrs+sha512\n/usr/sbin/auditd p+i\n"
    )
    (root / "lib/systemd/system").mkdir(parents=True)
    (root / "lib/systemd/system/dailyaidecheck.timer").write_text(TIMER)
    results = audit(controls, root)
    assert results["HL.6.3.1"] == ("FAIL", "nothing matches /var/lib/aide/aide.db")
    assert results["6.3.2"][0] == "FAIL" and "enabled=disabled" in results["6.3.2"][1]
    assert results["6.3.3"][0] == "FAIL"
