"""Boot loader controls with and without GRUB, kernel parameters from /proc/cmdline, container detection."""

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

BOOT_IDS = frozenset({"1.3.1.2", "1.4.1", "1.4.2", "6.2.1.3", "6.2.1.4"})
NO_GRUB = (
    "not applicable: no GRUB boot loader: no grub package and no /boot/grub/grub.cfg "
    "(a container, firmware that boots the kernel directly such as a Raspberry Pi, or an EFI stub)"
)
GRUB_CFG = """set superusers="root"
password_pbkdf2 root grub.pbkdf2.sha512.10000.AA
menuentry 'Debian GNU/Linux' {
\tlinux\t/boot/vmlinuz-6.1.0-28-amd64 root=UUID=x quiet apparmor=1 security=apparmor audit=1 audit_backlog_limit=%s
}
menuentry 'Debian GNU/Linux (recovery mode)' {
\tlinux\t/boot/vmlinuz-6.1.0-28-amd64 root=UUID=x ro single apparmor=1 security=apparmor audit=1%s
}
"""


def audit(controls, host, ids=BOOT_IDS):
    chosen = [c for c in controls if c["benchmark"] == "debian_linux" and c["id"] in ids]
    return {r["id"]: (r["status"], r["actual"]) for r in engine.run(chosen, host, ["debian_linux"])["results"]}


def grub_tree(root, backlog="8192", recovery_backlog=" audit_backlog_limit=8192"):
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("Package: grub-common\nStatus: install ok installed\nVersion: 2.06\n")
    (root / "boot/grub").mkdir(parents=True)
    (root / "boot/grub/grub.cfg").write_text(GRUB_CFG % (backlog, recovery_backlog))
    (root / "boot/grub/grub.cfg").chmod(0o600)
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n")
    return root


def test_no_grub_means_not_applicable_with_the_reason(tmp_path, controls):
    results = audit(controls, Host(str(tmp_path)))
    assert {i: s for i, (s, _a) in results.items()} == dict.fromkeys(BOOT_IDS, "INFO")
    assert results["1.4.1"][1] == NO_GRUB
    assert results["6.2.1.3"][1] == NO_GRUB + "; no running kernel to read /proc/cmdline from"


def test_every_linux_line_of_grub_cfg_is_judged(tmp_path, controls):
    results = audit(controls, Host(str(grub_tree(tmp_path, recovery_backlog=""))))
    assert results["1.3.1.2"][0] == "PASS"
    assert results["1.4.1"][0] == "PASS"
    assert results["6.2.1.3"] == ("PASS", "/boot/grub/grub.cfg linux line 1: audit=1")
    assert results["6.2.1.4"] == (
        "FAIL",
        "/boot/grub/grub.cfg linux line 1: audit_backlog_limit=8192; "
        "/boot/grub/grub.cfg linux line 2: audit_backlog_limit not set",
    )


@pytest.mark.parametrize(("backlog", "status"), [("8191", "FAIL"), ("8192", "PASS"), ("65536", "PASS")])
def test_backlog_limit_is_a_number(tmp_path, controls, backlog, status):
    results = audit(controls, Host(str(grub_tree(tmp_path, backlog, " audit_backlog_limit=%s" % backlog))), {"6.2.1.4"})
    assert results["6.2.1.4"][0] == status


def test_live_host_without_grub_reads_proc_cmdline(tmp_path, controls):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cmdline").write_text(
        "console=ttyAMA0 root=/dev/mmcblk0p2 apparmor=1 security=apparmor audit=1 audit_backlog_limit=8192 -- audit=0\n"
    )
    host = Host(str(tmp_path), container=False)
    host.live = True
    results = audit(controls, host)
    assert results["1.4.1"] == ("INFO", NO_GRUB)
    assert results["6.2.1.3"] == ("PASS", "/proc/cmdline: audit=1")
    assert results["6.2.1.4"] == ("PASS", "/proc/cmdline: audit_backlog_limit=8192")
    assert results["1.3.1.2"] == ("PASS", "/proc/cmdline: apparmor=1, security=apparmor")


CONTAINERS = {
    "podman": ({"run/.containerenv": "engine=podman-4.3.1\n"}, "podman (/run/.containerenv)"),
    "docker": ({".dockerenv": ""}, "docker (/.dockerenv)"),
    "nspawn": ({"run/systemd/container": "systemd-nspawn\n"}, "systemd-nspawn (/run/systemd/container)"),
    "environ": ({"proc/1/environ": "PATH=/bin\0container=lxc\0"}, "lxc (container= of PID 1)"),
    "kubepods_cgroup": ({"proc/1/cgroup": "0::/kubepods/burstable/pod1/abc\n"}, "kubepods (cgroup of PID 1)"),
    "libpod_cgroup": ({"proc/1/cgroup": "0::/machine.slice/libpod-abc.scope\n"}, "libpod (cgroup of PID 1)"),
    "openvz": ({"proc/vz/veinfo": ""}, "openvz (/proc/vz)"),
    "wsl": ({"proc/sys/kernel/osrelease": "5.15.90.1-microsoft-standard-WSL2\n"}, "wsl (kernel release)"),
    "machine": ({"proc/1/cgroup": "0::/init.scope\n", "proc/1/environ": "HOME=/\0TERM=linux\0"}, ""),
}


@pytest.mark.parametrize("case", sorted(CONTAINERS))
def test_container_detection(tmp_path, case):
    files, reason = CONTAINERS[case]
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    host = Host(str(tmp_path))
    host.live = True
    detected, why = host.detect_container()
    assert (detected, why.replace(", the running kernel is not installed here", "")) == (bool(reason), reason)


def test_skip_reason_names_what_was_detected(tmp_path, controls):
    (tmp_path / "run").mkdir()
    (tmp_path / "run/.containerenv").write_text("")
    host = Host(str(tmp_path))
    host.live = True
    host.container, host.container_reason = host.detect_container()
    results = audit(controls, host, {"1.4.1"})
    assert results["1.4.1"][0] == "SKIP"
    assert results["1.4.1"][1].startswith("container (podman (/run/.containerenv)")
    assert results["1.4.1"][1].endswith("): the boot loader belongs to the host")
