"""Audits of the known-good and known-bad fixture trees through `root`: exact statuses of named controls."""

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

MANUAL = {"1.2.20", "3.1.1"}  # controls a person reviews: always WARN
ABSENT = {"1.1.9", "1.1.10", "4.1.3", "4.1.4", "4.3.1"}  # no CNI config, kube-proxy runs in a pod: INFO


@pytest.fixture(scope="module")
def audit(fixture_tree, controls):
    trees, reports = {}, {}

    def run(name, benchmarks=None):
        if name not in trees:
            trees[name] = fixture_tree(name)
        key = (name, tuple(benchmarks or ()))
        if key not in reports:
            report = engine.run(controls, Host(str(trees[name])), benchmarks)
            reports[key] = report, {(r["benchmark"], r["id"]): r for r in report["results"]}
        return reports[key]

    return run


def test_benchmarks_detected_from_the_tree(audit):
    report = audit("good")[0]
    assert report["benchmarks"] == ["debian_linux", "kubernetes_control_plane", "kubernetes_node"]
    assert report["container"] is False


def test_good_tree_kubernetes_all_pass(audit):
    results = audit("good", ["kubernetes_control_plane", "kubernetes_node"])[1]
    statuses = {key[1]: r["status"] for key, r in results.items()}
    assert {i for i, s in statuses.items() if s == "WARN"} == MANUAL
    assert {i for i, s in statuses.items() if s == "INFO"} == ABSENT
    assert {i for i, s in statuses.items() if s not in ("PASS", "WARN", "INFO")} == set()
    assert len([s for s in statuses.values() if s == "PASS"]) == len(statuses) - len(MANUAL) - len(ABSENT)


@pytest.mark.parametrize(
    ("control_id", "status", "actual"),
    [
        ("1.1.1.1", "PASS", "cramfs: disabled=true, blacklisted=true, loaded not set"),
        ("1.1.2.1.4", "PASS", "/tmp: options=defaults,nodev,nosuid,noexec"),
        ("3.3.1", "PASS", "configured: net.ipv4.ip_forward=0, net.ipv6.conf.all.forwarding=0"),
        ("5.1.20", "PASS", "sshd: permitrootlogin=no"),  # the drop-in is included first: first value wins
        ("5.1.13", "PASS", "sshd: logingracetime=60"),  # 1m in seconds
        ("5.1.4", "PASS", None),
        ("5.4.1.1", "PASS", "/etc/login.defs: PASS_MAX_DAYS=365"),
        ("5.4.3.3", "PASS", "/etc/login.defs: UMASK=027"),
        ("6.2.3.20", "PASS", None),
        ("4.3.9", "PASS", "systemd: enabled=enabled"),
        ("2.1.18", "PASS", "dpkg: installed=false"),
        ("2.2.4", "PASS", "dpkg: installed=false"),  # telnet is deinstalled (config files only)
        ("7.1.1", "PASS", "/etc/passwd: mode=644, ownership=root:root"),
        ("1.6.2", "FAIL", "nothing matches /etc/issue"),
        (
            "1.4.2",
            "INFO",
            "not applicable: no GRUB boot loader: no grub package and no /boot/grub/grub.cfg "
            "(a container, firmware that boots the kernel directly such as a Raspberry Pi, or an EFI stub)",
        ),
        (
            "6.2.1.3",
            "INFO",
            "not applicable: no GRUB boot loader: no grub package and no /boot/grub/grub.cfg "
            "(a container, firmware that boots the kernel directly such as a Raspberry Pi, or an EFI stub); "
            "no running kernel to read /proc/cmdline from",
        ),
    ],
)
def test_good_tree_debian_controls(audit, control_id, status, actual):
    results = audit("good", ["debian_linux"])[1]
    result = results[("debian_linux", control_id)]
    assert result["status"] == status, result
    if actual:
        assert result["actual"] == actual


@pytest.mark.parametrize(
    ("bench", "control_id", "status", "actual"),
    [
        ("debian_linux", "1.1.1.1", "FAIL", "cramfs: disabled=false, blacklisted=true, loaded not set"),
        ("debian_linux", "1.1.2.1.2", "FAIL", "/tmp: options=defaults"),
        ("debian_linux", "3.3.10", "FAIL", "configured: net.ipv4.tcp_syncookies=0"),  # 99-override.conf wins
        ("debian_linux", "3.3.1", "FAIL", "configured: net.ipv4.ip_forward=1, net.ipv6.conf.all.forwarding not set"),
        ("debian_linux", "5.1.19", "FAIL", "sshd: permitemptypasswords=yes"),
        ("debian_linux", "5.1.16", "FAIL", "sshd: maxauthtries=10"),
        ("debian_linux", "5.1.20", "FAIL", "sshd: permitrootlogin=without-password"),  # Match block ignored
        ("debian_linux", "5.1.1", "FAIL", "/etc/ssh/sshd_config: mode=644, ownership=root:root"),
        ("debian_linux", "5.4.1.4", "FAIL", "/etc/login.defs: ENCRYPT_METHOD=MD5"),
        ("debian_linux", "5.4.2.1", "FAIL", "/etc/passwd: content: matches 'toor:x:0:'"),
        ("debian_linux", "6.2.3.1", "FAIL", None),
        ("debian_linux", "4.1.1", "FAIL", "systemd: nftables.service.enabled=disabled, ufw.service.enabled=not-found"),
        ("kubernetes_control_plane", "1.1.1", "FAIL", "/etc/kubernetes/manifests/kube-apiserver.yaml: mode=644"),
        ("kubernetes_control_plane", "1.1.11", "FAIL", "/var/lib/etcd: mode=755"),
        ("kubernetes_control_plane", "1.1.12", "FAIL", "/var/lib/etcd: ownership=root:root"),
        ("kubernetes_control_plane", "1.1.21", "WARN", None),
        ("kubernetes_control_plane", "1.2.1", "WARN", "apiserver: --anonymous-auth not set"),
        ("kubernetes_control_plane", "1.2.2", "FAIL", "apiserver: --token-auth-file=/etc/kubernetes/tokens.csv"),
        ("kubernetes_control_plane", "1.2.6", "FAIL", "apiserver: --authorization-mode=AlwaysAllow"),
        ("kubernetes_control_plane", "1.2.10", "FAIL", "apiserver: --enable-admission-plugins=AlwaysAdmit"),
        ("kubernetes_control_plane", "1.2.12", "FAIL", "apiserver: --disable-admission-plugins=ServiceAccount"),
        ("kubernetes_control_plane", "1.2.13", "PASS", "apiserver: --disable-admission-plugins=ServiceAccount"),
        ("kubernetes_control_plane", "1.2.17", "FAIL", "apiserver: --audit-log-maxage=7"),
        (
            "kubernetes_control_plane",
            "1.2.28",
            "WARN",
            "/etc/kubernetes/encryption-config.yaml: resources.0.providers.0=identity",
        ),
        ("kubernetes_control_plane", "1.2.29", "WARN", None),
        (
            "kubernetes_control_plane",
            "1.3.6",
            "FAIL",
            "controllermanager: --feature-gates=RotateKubeletServerCertificate=false",
        ),
        ("kubernetes_control_plane", "1.3.7", "FAIL", "controllermanager: --bind-address=0.0.0.0"),
        ("kubernetes_control_plane", "2.3", "FAIL", "etcd: --auto-tls=true"),
        ("kubernetes_node", "4.1.9", "FAIL", "/var/lib/kubelet/config.yaml: mode=644"),
        (
            "kubernetes_node",
            "4.2.1",
            "FAIL",
            "kubelet: --anonymous-auth=true",
        ),  # kubeadm-flags.env overrides the config
        ("kubernetes_node", "4.2.2", "FAIL", "kubelet: authorization.mode=AlwaysAllow"),
        ("kubernetes_node", "4.2.4", "WARN", "kubelet: readOnlyPort=10255"),
        ("kubernetes_node", "4.2.7", "WARN", "kubelet: --hostname-override=node-x"),
        ("kubernetes_node", "4.2.10", "FAIL", "kubelet: rotateCertificates=false"),
        ("kubernetes_node", "4.2.14", "WARN", "kubelet: --seccomp-default not set"),
    ],
)
def test_bad_tree_controls(audit, bench, control_id, status, actual):
    results = audit("bad")[1]
    result = results[(bench, control_id)]
    assert result["status"] == status, result
    if actual:
        assert result["actual"] == actual


def test_malformed_manifest_is_a_warning_naming_the_problem(fixture_tree, controls):
    tree = fixture_tree("bad")
    (tree / "etc/kubernetes/manifests/kube-scheduler.yaml").write_text("spec:\n  containers: [\n")
    report = engine.run(controls, Host(str(tree)), ["kubernetes_control_plane"])
    results = {r["id"]: r for r in report["results"]}
    for control_id in ("1.4.1", "1.4.2"):
        assert results[control_id]["status"] == "WARN"
        assert results[control_id]["actual"].startswith("cannot audit: invalid YAML")


def test_bad_tree_scheduler_binds_everywhere(audit):
    results = audit("bad")[1]
    assert results[("kubernetes_control_plane", "1.4.2")]["status"] == "FAIL"
    assert results[("kubernetes_control_plane", "1.4.1")]["actual"] == "scheduler: --profiling not set"


def test_no_command_runs_under_another_root(fixture_tree, controls):
    def refuse(argv):
        raise AssertionError("ran %s" % argv)

    report = engine.run(controls, Host(str(fixture_tree("good")), run_command=refuse))
    assert len(report["results"]) == len(controls)
