"""sysctl.d precedence (Host.sysctl) against the real systemd-sysctl applying the same tree.

The real /lib/systemd/systemd-sysctl runs in a private mount namespace where the tree's
etc/sysctl.d, run/sysctl.d, usr/local/lib/sysctl.d, usr/lib/sysctl.d and etc/sysctl.conf are
bind-mounted over this machine's, and a tmpfs is mounted on /proc/sys with one empty file per
key the case reads: systemd-sysctl writes its values there, the kernel of this machine is
never touched (the script refuses to run unless /proc/sys is that tmpfs).
"""

import subprocess

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host, sysctl_key

SYSTEMD_SYSCTL = "/lib/systemd/systemd-sysctl"
DIRS = ("etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d")
SCRIPT = r"""
set -eu
tree=$1; shift
mount -t tmpfs tmpfs /run
mkdir -p /run/sysctl.d
mount -t tmpfs tmpfs /usr/local/lib
mkdir -p /usr/local/lib/sysctl.d
for d in etc/sysctl.d run/sysctl.d usr/local/lib/sysctl.d usr/lib/sysctl.d; do mount --bind "$tree/$d" "/$d"; done
mount --bind "$tree/etc/sysctl.conf" /etc/sysctl.conf
mount -t tmpfs tmpfs /proc/sys
[ "$(stat -f -c %T /proc/sys)" = tmpfs ] || exit 3
for key in "$@"; do mkdir -p "/proc/sys/$(dirname "$key")"; : > "/proc/sys/$key"; done
/lib/systemd/systemd-sysctl >/dev/null 2>&1 || true
for key in "$@"; do printf '%s=%s\n' "$key" "$(cat "/proc/sys/$key")"; done
"""
IF = "net.ipv4.conf.%s.rp_filter"
KEYS = (
    "net.ipv4.ip_forward",
    "net.ipv4.tcp_syncookies",
    "kernel.panic",
    "kernel.kptr_restrict",
    IF % "all",
    IF % "default",
    IF % "eth0",
    "net.ipv4.conf.eth0/100.rp_filter",
)
DEBIAN_LINK = {"etc/sysctl.d/99-sysctl.conf": "../sysctl.conf"}  # what procps ships on Debian
CASES = {
    "later_file_beats_sysctl_conf": (
        {"etc/sysctl.conf": "net.ipv4.ip_forward = 0\n", "etc/sysctl.d/99-zz-forward.conf": "net.ipv4.ip_forward=1\n"},
        DEBIAN_LINK,
    ),
    "sysctl_conf_beats_earlier_files": (
        {"etc/sysctl.conf": "net.ipv4.ip_forward = 0\n", "etc/sysctl.d/60-forward.conf": "net.ipv4.ip_forward=1\n"},
        DEBIAN_LINK,
    ),
    "etc_hides_same_name_in_usr_lib": (
        {
            "usr/lib/sysctl.d/50-default.conf": "net.ipv4.ip_forward = 1\nkernel.panic = 10\n",
            "etc/sysctl.d/50-default.conf": "net.ipv4.ip_forward = 0\n",
        },
        {},
    ),
    "name_order_across_directories": (
        {
            "usr/lib/sysctl.d/90-vendor.conf": "kernel.panic = 90\n",
            "run/sysctl.d/20-runtime.conf": "kernel.panic = 20\nnet.ipv4.tcp_syncookies = 0\n",
            "usr/local/lib/sysctl.d/30-local.conf": "net.ipv4.tcp_syncookies = 1\n",
            "etc/sysctl.d/10-admin.conf": "kernel.panic = 1\n",
        },
        {},
    ),
    "masked_by_dev_null": (
        {"usr/lib/sysctl.d/50-pid.conf": "kernel.kptr_restrict = 0\n", "etc/sysctl.d/10-x.conf": "kernel.panic = 5\n"},
        {"etc/sysctl.d/50-pid.conf": "/dev/null"},
    ),
    "explicit_beats_glob_in_any_order": (
        {
            "etc/sysctl.d/10-explicit.conf": "net.ipv4.conf.all.rp_filter = 1\n",
            "etc/sysctl.d/20-glob.conf": "net.ipv4.conf.*.rp_filter = 2\n",
        },
        {},
    ),
    "slashes_dashes_comments": (
        {
            "etc/sysctl.d/60-x.conf": "-net/ipv4/tcp_syncookies=1\n; comment\n# comment\n"
            "net/ipv4/conf/eth0.100/rp_filter = 2\n  kernel.panic   =   7  \n",
        },
        {},
    ),
}


@pytest.fixture(scope="module")
def systemd_sysctl():
    done = subprocess.run(["test", "-x", SYSTEMD_SYSCTL], check=False)
    if done.returncode:
        pytest.fail("%s (systemd) is needed" % SYSTEMD_SYSCTL)


def make_tree(root, files, links):
    for directory in DIRS:
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "etc/sysctl.conf").touch()
    for path, text in files.items():
        (root / path).write_text(text)
    for path, target in links.items():
        (root / path).symlink_to(target)
    return root


def real_values(root):
    paths = [key.translate(str.maketrans("./", "/.")) for key in KEYS]
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", SCRIPT, "sysctl", str(root), *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    values = {}
    for line in done.stdout.splitlines():
        path, _sep, value = line.partition("=")
        if value:
            values[sysctl_key(path)] = value
    return values


@pytest.mark.parametrize("case", sorted(CASES))
def test_configured_value_is_what_systemd_sysctl_applies(tmp_path, systemd_sysctl, case):
    root = make_tree(tmp_path, *CASES[case])
    real = real_values(root)
    host = Host(str(root))
    ours = {key: host.sysctl(key)["configured"] for key in KEYS if "configured" in host.sysctl(key)}
    assert ours == real
    assert real, "the case sets nothing: it would prove nothing"


def test_issue_case_fails_ip_forwarding(tmp_path, controls):
    from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine

    root = make_tree(tmp_path, *CASES["later_file_beats_sysctl_conf"])
    chosen = [c for c in controls if c["benchmark"] == "debian_linux" and c["id"] == "3.3.1"]
    result = engine.run(chosen, Host(str(root)), ["debian_linux"])["results"][0]
    assert result["status"] == "FAIL"
    assert "net.ipv4.ip_forward=1" in result["actual"]


def test_sysctl_conf_without_the_debian_link_is_read_as_99_sysctl(tmp_path):
    root = make_tree(
        tmp_path,
        {"etc/sysctl.conf": "kernel.panic = 99\n", "etc/sysctl.d/98-a.conf": "kernel.panic = 98\n"},
        {},
    )
    (root / "usr/lib/sysctl.d/99-zz.conf").write_text("net.ipv4.ip_forward = 1\n")
    assert Host(str(root)).sysctl("kernel.panic") == {"configured": "99"}


def test_key_normalisation():
    assert sysctl_key("net/ipv4/ip_forward") == "net.ipv4.ip_forward"
    assert sysctl_key("net/ipv4/conf/eth0.100/rp_filter") == "net.ipv4.conf.eth0/100.rp_filter"
    assert sysctl_key("net.ipv4.conf.eth0/100.rp_filter") == "net.ipv4.conf.eth0/100.rp_filter"
