"""Kernel module controls decided by the kernel itself: no loadable module support, no such module, built in."""

import gzip
import os
import subprocess

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

RELEASE = "6.1.0-28-amd64"
NO_MODULES = (
    "CONFIG_MODULES_USE_ELF_RELA=y\n# CONFIG_MODULES is not set\nCONFIG_SQUASHFS=y\n# CONFIG_CRAMFS is not set\n"
)
MODULES = "CONFIG_MODULES=y\n# CONFIG_CRAMFS is not set\nCONFIG_HFS_FS=m\nCONFIG_OVERLAY_FS=y\nCONFIG_UDF_FS=m\n"


def audit(controls, root, ids, container=False):
    chosen = [c for c in controls if c["benchmark"] == "debian_linux" and c["id"] in ids]
    report = engine.run(chosen, Host(str(root), container=container), ["debian_linux"])
    return {r["id"]: (r["status"], r["actual"]) for r in report["results"]}


def tree(root, config=None, modprobe="", builtin=None, dep=None):
    (root / "etc/modprobe.d").mkdir(parents=True)
    (root / "etc/modprobe.d/cis.conf").write_text(modprobe)
    if config is not None:
        (root / "boot").mkdir()
        (root / ("boot/config-%s" % RELEASE)).write_text(config)
    for name, lines in (("modules.builtin", builtin), ("modules.dep", dep)):
        if lines is not None:
            (root / "lib/modules" / RELEASE).mkdir(parents=True, exist_ok=True)
            (root / "lib/modules" / RELEASE / name).write_text("".join(line + "\n" for line in lines))
    return root


def test_kernel_without_module_support(tmp_path, controls):
    results = audit(controls, tree(tmp_path, NO_MODULES), {"1.1.1.1", "1.1.1.7", "3.2.4"})
    no_support = "kernel %s has no loadable module support (CONFIG_MODULES is not set in /boot/config-%s)" % (
        RELEASE,
        RELEASE,
    )
    assert results["1.1.1.1"] == ("PASS", "not available: %s and cramfs is not built in" % no_support)
    assert results["3.2.4"] == ("PASS", "not available: %s and sctp is not built in" % no_support)
    assert results["1.1.1.7"] == (
        "FAIL",
        "squashfs is built into kernel %s (CONFIG_SQUASHFS=y in /boot/config-%s): modprobe.d cannot disable it"
        % (RELEASE, RELEASE),
    )


def test_kernel_with_modules_judges_only_what_it_can_load(tmp_path, controls):
    modprobe = "install udf /bin/false\nblacklist udf\n"
    results = audit(controls, tree(tmp_path, MODULES, modprobe), {"1.1.1.1", "1.1.1.3", "1.1.1.6", "1.1.1.8"})
    assert results["1.1.1.1"][0] == "PASS"
    assert results["1.1.1.1"][1].startswith("not available: kernel %s has no cramfs module (CONFIG_CRAMFS" % RELEASE)
    assert results["1.1.1.3"] == ("FAIL", "hfs: disabled=false, blacklisted=false, loaded not set")
    assert results["1.1.1.8"] == ("PASS", "udf: disabled=true, blacklisted=true, loaded not set")
    assert results["1.1.1.6"][0] == "FAIL" and "built into kernel" in results["1.1.1.6"][1]


def test_module_lists_without_a_kernel_config(tmp_path, controls):
    root = tree(
        tmp_path,
        builtin=["kernel/drivers/usb/storage/usb-storage.ko"],
        dep=["kernel/fs/udf/udf.ko.xz: kernel/lib/crc-itu-t.ko.xz", "kernel/lib/crc-itu-t.ko.xz:"],
    )
    results = audit(controls, root, {"1.1.1.1", "1.1.1.8", "1.1.1.9"})
    assert results["1.1.1.1"] == (
        "PASS",
        "not available: kernel %s has no cramfs module (not in /lib/modules/%s/modules.dep)" % (RELEASE, RELEASE),
    )
    assert results["1.1.1.8"] == ("FAIL", "udf: disabled=false, blacklisted=false, loaded not set")
    assert results["1.1.1.9"][0] == "FAIL" and "usb_storage is built into kernel" in results["1.1.1.9"][1]


def test_container_is_judged_by_its_configuration_only(tmp_path, controls):
    results = audit(controls, tree(tmp_path, NO_MODULES), {"1.1.1.1"}, container=True)
    assert results["1.1.1.1"] == ("FAIL", "cramfs: disabled=false, blacklisted=false, loaded not set")


@pytest.mark.skipif(not os.path.exists("/proc/config.gz"), reason="this kernel does not expose /proc/config.gz")
def test_live_kernel_matches_its_own_config(controls):
    with gzip.open("/proc/config.gz", "rt") as handle:
        config = handle.read()
    host = Host("/", container=False, run_command=lambda argv: (1, "", ""))
    facts = host.kernel()
    assert (
        facts["release"] == subprocess.run(["uname", "-r"], capture_output=True, text=True, check=True).stdout.strip()
    )
    assert facts["source"] == "/proc/config.gz"
    modules = "CONFIG_MODULES=y" in config.splitlines()
    chosen = [c for c in controls if c["benchmark"] == "debian_linux" and c["id"] == "1.1.1.7"]
    result = engine.run(chosen, host, ["debian_linux"])["results"][0]
    if "CONFIG_SQUASHFS=y" in config.splitlines():
        assert result["status"] == "FAIL" and "built into kernel" in result["actual"]
    elif not modules:
        assert result["status"] == "PASS" and "no loadable module support" in result["actual"]
