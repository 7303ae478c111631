"""Every audit source of Host, on small trees under `root` (and a live-host seam for commands)."""

import os

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis.compare import Unknown
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host, Missing, Unobservable, flags_from_args


def write(root, path, text, mode=None):
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    if mode is not None:
        target.chmod(mode)
    return target


@pytest.fixture
def host(tmp_path):
    write(tmp_path, "etc/passwd", "root:x:0:0::/root:/bin/bash\n")
    write(tmp_path, "etc/group", "root:x:0:\n")
    return Host(str(tmp_path))


def test_under_root_nothing_live(host, tmp_path):
    assert host.root == str(tmp_path)
    assert host.live is False
    assert host.container is False
    assert Host(str(tmp_path), container=True).container is True


def test_read_and_files(host, tmp_path):
    write(tmp_path, "etc/a.conf", "x\n")
    write(tmp_path, "etc/d/b.conf", "y\n")
    assert host.read("/etc/a.conf") == "x\n"
    assert host.files(["/etc/*.conf", "/etc/**/*.conf"]) == ["/etc/a.conf", "/etc/d/b.conf"]
    with pytest.raises(Missing, match="nothing matches /etc/none"):
        host.files("/etc/none")
    with pytest.raises(Missing, match="does not exist"):
        host.read("/etc/none")


def test_symlinks_resolve_inside_root(host, tmp_path):
    write(tmp_path, "run/motd.dynamic", "hello\n", mode=0o644)
    (tmp_path / "etc/motd").symlink_to("/run/motd.dynamic")
    (tmp_path / "etc/issue").symlink_to("motd")
    (tmp_path / "etc/loop").symlink_to("loop")
    assert host.read("/etc/issue") == "hello\n"
    assert host.stat("/etc/motd")["mode"] == "644"
    with pytest.raises(ValueError, match="too many levels"):
        host.read("/etc/loop")
    (tmp_path / "etc/dangling").symlink_to("/nowhere")
    with pytest.raises(Missing):
        host.stat("/etc/dangling")


def test_stat_names_owner_from_the_tree(host, tmp_path):
    write(tmp_path, "etc/shadow", "", mode=0o640)
    facts = host.stat("/etc/shadow")
    assert facts["mode"] == "640"
    assert facts["type"] == "file"
    if os.geteuid() == 0:
        assert (facts["owner"], facts["group"]) == ("root", "root")
    with pytest.raises(Missing):
        host.stat("/etc/gshadow")


def test_keyvalue_whitespace_separator_first_and_lower(host, tmp_path):
    write(tmp_path, "etc/login.defs", "# comment\nPASS_MAX_DAYS\t99999\nPASS_MAX_DAYS 90\nUMASK 022 # trailing\n")
    assert host.keyvalue("/etc/login.defs") == {"PASS_MAX_DAYS": "90", "UMASK": "022"}
    assert host.keyvalue("/etc/login.defs", first=True)["PASS_MAX_DAYS"] == "99999"
    assert host.keyvalue("/etc/login.defs", lower=True)["umask"] == "022"
    write(tmp_path, "etc/security/pwquality.conf", "minlen = 8\n")
    write(tmp_path, "etc/security/pwquality.conf.d/50.conf", "minlen = 14\nenforce_for_root\n")
    merged = host.keyvalue(["/etc/security/pwquality.conf", "/etc/security/pwquality.conf.d/*.conf"], "=")
    assert merged == {"minlen": "14", "enforce_for_root": ""}


def test_ini_with_dropins(host, tmp_path):
    write(tmp_path, "etc/systemd/journald.conf", "[Journal]\n#Storage=auto\nCompress=yes\n")
    write(tmp_path, "etc/systemd/journald.conf.d/60.conf", "[Journal]\nStorage=persistent\n")
    facts = host.ini("/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/*.conf")
    assert facts == {"Journal.Compress": "yes", "Journal.Storage": "persistent"}
    with pytest.raises(Missing):
        host.ini("/etc/systemd/timesyncd.conf")


def test_document_yaml_and_json(host, tmp_path):
    write(tmp_path, "a.yaml", "a:\n  b: [1, 2]\n")
    write(tmp_path, "b.json", '{"a": {"b": true}}')
    assert host.document("/a.yaml") == {"a": {"b": [1, 2]}}
    assert host.document("/b.json") == {"a": {"b": True}}


def test_packages_from_dpkg_status(host, tmp_path):
    write(
        tmp_path,
        "var/lib/dpkg/status",
        "Package: sudo\nStatus: install ok installed\nVersion: 1.9\n\n"
        "Package: telnet\nStatus: deinstall ok config-files\n",
    )
    assert host.package("sudo") == {"installed": True, "version": "1.9"}
    assert host.package("telnet") == {"installed": False, "version": ""}


def test_units_from_files(host, tmp_path):
    service = "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
    write(tmp_path, "lib/systemd/system/cron.service", service)
    write(tmp_path, "lib/systemd/system/ufw.service", service)
    write(tmp_path, "lib/systemd/system/auditd.service", service)
    (tmp_path / "etc/systemd/system/multi-user.target.wants").mkdir(parents=True)
    os.symlink("/lib/systemd/system/cron.service", tmp_path / "etc/systemd/system/multi-user.target.wants/cron.service")
    os.symlink("/dev/null", tmp_path / "etc/systemd/system/ufw.service")
    unknown = Unknown("no running system under root %s" % tmp_path)
    assert host.unit("cron.service") == {"load": "loaded", "enabled": "enabled", "active": unknown}
    assert host.unit("auditd.service") == {"load": "loaded", "enabled": "disabled", "active": unknown}
    assert host.unit("ufw.service") == {"load": "masked", "enabled": "masked", "active": unknown}
    assert host.unit("chrony.service") == {"load": "not-found", "enabled": "not-found", "active": unknown}


def test_kmod_configuration(host, tmp_path):
    write(
        tmp_path,
        "etc/modprobe.d/cis.conf",
        "install usb-storage /bin/false\nblacklist usb_storage\ninstall dccp /bin/sh -c true\n",
    )
    assert host.kmod("usb-storage") == {"disabled": True, "blacklisted": True}
    assert host.kmod("dccp") == {"disabled": False, "blacklisted": False}


def test_sysctl_order_and_precedence(host, tmp_path):
    write(tmp_path, "usr/lib/sysctl.d/50-default.conf", "net.ipv4.ip_forward = 1\nkernel.panic = 10\n")
    write(tmp_path, "etc/sysctl.d/50-default.conf", "net.ipv4.ip_forward = 0\n")  # same name: /etc wins
    write(tmp_path, "etc/sysctl.d/99-late.conf", "-net/ipv4/tcp_syncookies=1\n")
    write(tmp_path, "etc/sysctl.conf", "kernel.panic=20\n")
    assert host.sysctl("net.ipv4.ip_forward") == {"configured": "0"}
    assert host.sysctl("net.ipv4.tcp_syncookies") == {"configured": "1"}
    assert host.sysctl("kernel.panic") == {"configured": "20"}
    assert host.sysctl("kernel.yama.ptrace_scope") == {}


def test_mounts_from_fstab(host, tmp_path):
    write(tmp_path, "etc/fstab", "# c\nUUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs nodev,nosuid 0 0\n")
    assert host.mounts() == {"/": ["defaults"], "/tmp": ["nodev", "nosuid"]}


def test_sshd_config_fallback(host, tmp_path):
    write(
        tmp_path,
        "etc/ssh/sshd_config",
        "Include sshd_config.d/*.conf\nPermitRootLogin yes\nLoginGraceTime 2m\nMatch User x\n  MaxAuthTries 1\n",
    )
    write(tmp_path, "etc/ssh/sshd_config.d/10.conf", 'PermitRootLogin no\nBanner "/etc/issue.net"\n')
    facts = host.sshd()
    assert facts["permitrootlogin"] == "no"
    assert facts["banner"] == "/etc/issue.net"
    assert facts["logingracetime"] == "120"
    assert facts["maxauthtries"] == "6"  # the Match block does not apply; OpenSSH's default does


def test_sshd_effective_settings_from_one_sshd_T(tmp_path):
    write(tmp_path, "etc/ssh/sshd_config", "PermitRootLogin yes\n")
    write(tmp_path, "bin/sshd", "", mode=0o755)
    calls = []

    def run_command(argv):
        calls.append(argv)
        return 0, "permitrootlogin without-password\nMaxAuthTries 6\n", ""

    host = Host(str(tmp_path), run_command=run_command)
    host.live, host.BIN_DIRS = True, (str(tmp_path / "bin"),)
    assert host.sshd() == {"permitrootlogin": "without-password", "maxauthtries": "6"}
    host.sshd()
    assert calls == [["sshd", "-T", "-C", "user=root,host=localhost,addr=127.0.0.1"]]


def test_sshd_missing(host):
    with pytest.raises(Missing):
        host.sshd()


def test_commands_only_on_the_live_host(host, tmp_path):
    with pytest.raises(Unobservable, match="cannot run nft under root"):
        host.run(("nft", "list", "ruleset"))
    live = Host(str(tmp_path), run_command=lambda argv: (0, "table inet filter", ""))
    live.live, live.BIN_DIRS = True, (str(tmp_path),)
    with pytest.raises(Missing, match="nft is not installed"):
        live.run(("nft", "list", "ruleset"))
    write(tmp_path, "nft", "", mode=0o755)
    live = Host(str(tmp_path), run_command=lambda argv: (0, "table inet filter", ""))
    live.live, live.BIN_DIRS = True, (str(tmp_path),)
    assert live.run(("nft", "list", "ruleset")) == {"rc": 0, "stdout": "table inet filter", "stderr": ""}


def test_units_on_a_live_systemd_host_use_systemctl(tmp_path, monkeypatch):
    write(tmp_path, "systemctl", "", mode=0o755)
    output = "LoadState=loaded\nActiveState=failed\nUnitFileState=enabled\n"
    host = Host(str(tmp_path), run_command=lambda argv: (0, output, ""))
    host.live, host.BIN_DIRS = True, (str(tmp_path),)
    monkeypatch.setattr(os.path, "isdir", lambda path: path == "/run/systemd/system" or os.path.exists(path))
    assert host.unit("auditd.service") == {"load": "loaded", "enabled": "enabled", "active": "failed"}


def test_flags_from_args():
    assert flags_from_args(["kube-apiserver", "--a=1", "--b", "2", "--c", "--d=x=y"]) == {
        "--a": "1",
        "--b": "2",
        "--c": "true",
        "--d": "x=y",
    }


def test_component_flags_from_command_and_args(host, tmp_path):
    write(
        tmp_path,
        "etc/kubernetes/manifests/kube-scheduler.yaml",
        "spec:\n  containers:\n  - command: [kube-scheduler, --profiling=false]\n"
        "    args: [--bind-address=127.0.0.1]\n",
    )
    assert host.component_flags("scheduler") == {"--profiling": "false", "--bind-address": "127.0.0.1"}
    write(tmp_path, "etc/kubernetes/manifests/etcd.yaml", "kind: Pod\n")
    with pytest.raises(ValueError, match=r"no spec\.containers"):
        host.component_flags("etcd")
    with pytest.raises(Missing, match="kube-apiserver is not running under"):
        host.component_flags("apiserver")


def test_kubelet_flags_override_config(host, tmp_path):
    write(
        tmp_path,
        "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        '[Service]\nEnvironment="KUBELET_CONFIG_ARGS=--config=/etc/kubelet.yaml"\nExecStart=\n'
        "ExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS --read-only-port=10255\n",
    )
    write(tmp_path, "etc/kubelet.yaml", "readOnlyPort: 0\nauthentication:\n  anonymous:\n    enabled: false\n")
    write(tmp_path, "etc/default/kubelet", 'KUBELET_EXTRA_ARGS="--anonymous-auth=true --node-ip=10.0.0.2"\n')
    facts = host.kubelet()
    assert facts["--config"] == "/etc/kubelet.yaml"
    assert facts["readOnlyPort"] == 0 and facts["--read-only-port"] == "10255"
    assert facts["authentication"]["anonymous"]["enabled"] is False and facts["--anonymous-auth"] == "true"


def test_kubelet_missing_and_odd(host, tmp_path):
    with pytest.raises(Missing, match="no kubelet configuration"):
        host.kubelet()
    write(tmp_path, "var/lib/kubelet/config.yaml", "- not a mapping\n")
    with pytest.raises(ValueError, match="not a KubeletConfiguration mapping"):
        Host(str(tmp_path)).kubelet()
