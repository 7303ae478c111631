"""The Kubernetes controls where CIS Kubernetes Benchmark 1.12 (kube-bench cfg/cis-1.12) differs from 1.10.

Each control of the shipped catalog is evaluated against a small tree under `root`, once with an
input the benchmark accepts and once with one it rejects.
"""

import pytest
import yaml
from ansible_collections.homelab.k8s.plugins.module_utils.cis import engine
from ansible_collections.homelab.k8s.plugins.module_utils.cis.host import Host

# kube-bench cfg/cis-1.12 node.yaml 4.2.12: the ECDHE AEAD suites only.
CIS_1_12_KUBELET_CIPHERS = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
]


def control(controls, benchmark, control_id):
    (found,) = [c for c in controls if c["benchmark"] == benchmark and c["id"] == control_id]
    return found


def apiserver(tmp_path, *flags):
    manifest = tmp_path / "etc/kubernetes/manifests/kube-apiserver.yaml"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    pod = {"spec": {"containers": [{"name": "kube-apiserver", "command": ["kube-apiserver", *flags]}]}}
    manifest.write_text(yaml.safe_dump(pod))
    return Host(str(tmp_path))


def kubelet(tmp_path, config, flags=""):
    path = tmp_path / "var/lib/kubelet/config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", **config})
    )
    if flags:
        (tmp_path / "var/lib/kubelet/kubeadm-flags.env").write_text('KUBELET_KUBEADM_ARGS="%s"\n' % flags)
    return Host(str(tmp_path))


def files(tmp_path, relative, mode):
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    path.chmod(mode)
    return Host(str(tmp_path))


# 1.2.30 (new in 1.12): --service-account-extend-token-expiration=false; the API server's default is true.


def test_1_2_30_passes_when_false(controls, tmp_path):
    host = apiserver(tmp_path, "--service-account-extend-token-expiration=false")
    status, actual = engine.evaluate(control(controls, "kubernetes_control_plane", "1.2.30"), host)
    assert (status, actual) == ("PASS", "apiserver: --service-account-extend-token-expiration=false")


def test_1_2_30_fails_when_true(controls, tmp_path):
    host = apiserver(tmp_path, "--service-account-extend-token-expiration=true")
    assert engine.evaluate(control(controls, "kubernetes_control_plane", "1.2.30"), host)[0] == "FAIL"


def test_1_2_30_fails_when_absent_because_the_default_is_true(controls, tmp_path):
    host = apiserver(tmp_path, "--profiling=false")
    status, actual = engine.evaluate(control(controls, "kubernetes_control_plane", "1.2.30"), host)
    assert status == "FAIL"  # scored: not a WARN
    assert "(default)" in actual, actual


# 1.1.20 and 4.1.7: 644 or more restrictive in 1.12 (600 in 1.10).


@pytest.mark.parametrize(("mode", "status"), [(0o644, "PASS"), (0o600, "PASS"), (0o664, "WARN"), (0o646, "WARN")])
def test_1_1_20_certificates_644_or_stricter(controls, tmp_path, mode, status):
    host = files(tmp_path, "etc/kubernetes/pki/etcd/server.crt", mode)
    assert engine.evaluate(control(controls, "kubernetes_control_plane", "1.1.20"), host)[0] == status


@pytest.mark.parametrize(("mode", "status"), [(0o644, "PASS"), (0o600, "PASS"), (0o666, "WARN"), (0o744, "WARN")])
def test_4_1_7_client_ca_644_or_stricter(controls, tmp_path, mode, status):
    files(tmp_path, "etc/kubernetes/pki/ca.crt", mode)
    host = kubelet(tmp_path, {"authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}}})
    assert engine.evaluate(control(controls, "kubernetes_node", "4.1.7"), host)[0] == status


# 4.2.12: the RSA key-exchange suites of the 1.10 text are no longer strong.


def test_4_2_12_passes_with_the_cis_1_12_suites(controls, tmp_path):
    host = kubelet(tmp_path, {"tlsCipherSuites": CIS_1_12_KUBELET_CIPHERS})
    assert engine.evaluate(control(controls, "kubernetes_node", "4.2.12"), host)[0] == "PASS"


@pytest.mark.parametrize("rsa_suite", ["TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256"])
def test_4_2_12_rejects_rsa_key_exchange(controls, tmp_path, rsa_suite):
    host = kubelet(tmp_path, {"tlsCipherSuites": [rsa_suite, *CIS_1_12_KUBELET_CIPHERS[:2]]})
    status, actual = engine.evaluate(control(controls, "kubernetes_node", "4.2.12"), host)
    assert status == "WARN"  # unscored (Manual) in 1.12
    assert rsa_suite in actual


def test_4_2_12_flag_overrides_the_configuration(controls, tmp_path):
    host = kubelet(
        tmp_path,
        {"tlsCipherSuites": CIS_1_12_KUBELET_CIPHERS},
        flags="--tls-cipher-suites=TLS_RSA_WITH_AES_128_GCM_SHA256",
    )
    assert engine.evaluate(control(controls, "kubernetes_node", "4.2.12"), host)[0] == "WARN"


# 4.2.14 (new in 1.12, was HL.4.2.2): seccompDefault true. Stricter than kube-bench, which only
# checks that it is set: seccompDefault: false is set and gives pods no profile.


def test_4_2_14_passes_when_seccomp_default_is_true(controls, tmp_path):
    host = kubelet(tmp_path, {"seccompDefault": True})
    assert engine.evaluate(control(controls, "kubernetes_node", "4.2.14"), host) == (
        "PASS",
        "kubelet: seccompDefault=true",
    )


@pytest.mark.parametrize("config", [{"seccompDefault": False}, {}])
def test_4_2_14_fails_when_false_or_unset(controls, tmp_path, config):
    host = kubelet(tmp_path, config)
    assert engine.evaluate(control(controls, "kubernetes_node", "4.2.14"), host)[0] == "WARN"


def test_4_2_14_replaces_hl_4_2_2(controls):
    ids = {(c["benchmark"], c["id"]) for c in controls}
    assert ("kubernetes_node", "4.2.14") in ids
    assert ("kubernetes_node", "HL.4.2.2") not in ids
