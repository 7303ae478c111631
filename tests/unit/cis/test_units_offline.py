"""Unit states without a running systemd (Host.unit on a tree) against the real `systemctl --root=TREE is-enabled`.

systemctl reads unit files offline with --root; it is the judge of what `is-enabled` prints
for masked, static, indirect, alias, enabled-runtime and template units. Without a running
systemd nothing can tell whether a daemon is active: such controls are WARN, not PASS.
"""

import os
import shutil
import subprocess

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.compare import Unknown
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

SERVICE = "[Unit]\nDescription=%s\n[Service]\nExecStart=/bin/true\n"
WANTED = "[Install]\nWantedBy=multi-user.target\n"
UNITS = {
    "static.service": SERVICE % "no [Install]",
    "commented.service": SERVICE % "install commented" + "[Install]\n#WantedBy=multi-user.target\n",
    "enabled.service": SERVICE % "wanted" + WANTED + "Alias=enabled-alias.service\n",
    "disabled.service": SERVICE % "not wanted" + WANTED,
    "indirect.service": SERVICE % "Also only" + "[Install]\nAlso=enabled.service\n",
    "masked.service": SERVICE % "masked in /etc" + WANTED,
    "masked-runtime.service": SERVICE % "masked in /run" + WANTED,
    "empty.service": "",
    "runtime.service": SERVICE % "wanted from /run" + WANTED,
    "alias-enabled.service": SERVICE % "enabled by its Alias link only" + "[Install]\nAlias=other-name.service\n",
    "getty-like@.service": SERVICE % "template" + "[Install]\nWantedBy=getty.target\n",
    "requires.service": SERVICE % "required" + "[Install]\nRequiredBy=multi-user.target\n",
    "usr-only.service": SERVICE % "in /usr/lib" + WANTED,
}
LINKS = {
    "etc/systemd/system/multi-user.target.wants/enabled.service": "/lib/systemd/system/enabled.service",
    "etc/systemd/system/enabled-alias.service": "/lib/systemd/system/enabled.service",
    "etc/systemd/system/masked.service": "/dev/null",
    "run/systemd/system/masked-runtime.service": "/dev/null",
    "run/systemd/system/multi-user.target.wants/runtime.service": "/lib/systemd/system/runtime.service",
    "etc/systemd/system/other-name.service": "/lib/systemd/system/alias-enabled.service",
    "etc/systemd/system/getty.target.wants/getty-like@tty1.service": "/lib/systemd/system/getty-like@.service",
    "etc/systemd/system/multi-user.target.requires/requires.service": "/lib/systemd/system/requires.service",
    "lib/systemd/system/vendor-alias.service": "disabled.service",
}
QUERIES = sorted(
    [name for name in UNITS if name != "usr-only.service"]
    + [
        "usr-only.service",
        "enabled-alias.service",
        "other-name.service",
        "vendor-alias.service",
        "getty-like@tty1.service",
        "getty-like@tty2.service",
        "absent.service",
    ]
)


@pytest.fixture(scope="module")
def unit_tree(tmp_path_factory):
    if not shutil.which("systemctl"):
        pytest.fail("systemctl (systemd) is needed")
    root = tmp_path_factory.mktemp("units")
    for directory in ("etc/systemd/system", "run/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"):
        (root / directory).mkdir(parents=True)
    for name, text in UNITS.items():
        where = "usr/lib/systemd/system" if name == "usr-only.service" else "lib/systemd/system"
        (root / where / name).write_text(text)
    for path, target in LINKS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / path)
    return root


def systemctl_is_enabled(root, name):
    done = subprocess.run(
        ["systemctl", "--root=%s" % root, "is-enabled", name], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "not-found"


@pytest.mark.parametrize("name", QUERIES)
def test_is_enabled_as_systemctl_says(unit_tree, name):
    assert Host(str(unit_tree)).unit(name)["enabled"] == systemctl_is_enabled(unit_tree, name)


def test_every_state_word_is_covered(unit_tree):
    words = {systemctl_is_enabled(unit_tree, name) for name in QUERIES}
    expected = {"static", "masked", "masked-runtime", "indirect", "alias", "enabled", "enabled-runtime", "disabled"}
    assert expected <= words


def test_a_running_daemon_cannot_be_told_without_systemd(unit_tree, controls):
    """cron enabled but no systemd: WARN naming why, not PASS; a disabled unit still FAILs."""
    chosen = [c for c in controls if c["benchmark"] == "debian_linux" and c["id"] == "2.4.1.1"]
    chosen = [dict(c, requires={}) for c in chosen]
    cron = (unit_tree / "lib/systemd/system/cron.service", unit_tree / "etc/systemd/system/multi-user.target.wants")
    cron[0].write_text(UNITS["disabled.service"])
    try:
        report = engine.run(chosen, Host(str(unit_tree)), ["debian_linux"])
        assert report["results"][0]["status"] == "FAIL"  # disabled decides it
        os.symlink("/lib/systemd/system/cron.service", cron[1] / "cron.service")
        report = engine.run(chosen, Host(str(unit_tree)), ["debian_linux"])
        result = report["results"][0]
        assert result["status"] == "WARN"
        assert result["actual"] == (
            "cannot tell: systemd: enabled=enabled, active unknown: no running system under root %s" % unit_tree
        )
    finally:
        cron[0].unlink()
        if (cron[1] / "cron.service").is_symlink():
            (cron[1] / "cron.service").unlink()


def test_live_host_without_systemd_as_pid_1_says_so(tmp_path, monkeypatch):
    host = Host(str(tmp_path))
    host.live = True
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda path: False if path == "/run/systemd/system" else real_isdir(path))
    with open("/proc/1/comm") as handle:
        pid1 = handle.read().strip()
    assert host.systemd_running() == "systemd is not running (PID 1 is %s)" % pid1
    assert host.unit("cron.service")["active"] == Unknown("systemd is not running (PID 1 is %s)" % pid1)
