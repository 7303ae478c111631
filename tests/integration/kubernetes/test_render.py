"""The files the kubernetes and cni roles write, rendered for the lab, staging and production
inventories: kubeadm's configuration judged by the real `kubeadm config validate`, the API server's
files against schemas written from the upstream Go types, and every hardening setting by name."""

import base64
import ipaddress
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes_render import TAGS, make_ca, run_render, write_inventory
from schemas import validate

pytestmark = pytest.mark.slow

CP = "k8s-master-01"
REPO = Path(__file__).resolve().parents[3]
KUBEADM = REPO / ".cache" / "bin" / "kubeadm"
ROLE_DEFAULTS = yaml.safe_load((REPO / "roles" / "kubernetes" / "defaults" / "main.yml").read_text())
APISERVER_DIR = "etc/kubernetes/apiserver"
STRONG_CIPHERS = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
}


def args(component):
    return {arg["name"]: arg["value"] for arg in component["extraArgs"]}


def cluster(rendered):
    return rendered.doc(CP, "etc/kubernetes/kubeadm/init.yaml", "ClusterConfiguration")


def init(rendered):
    return rendered.doc(CP, "etc/kubernetes/kubeadm/init.yaml", "InitConfiguration")


def kubelet(rendered):
    return rendered.doc(CP, "etc/kubernetes/kubeadm/init.yaml", "KubeletConfiguration")


def apiserver_file(rendered, name):
    return rendered.docs(CP, f"{APISERVER_DIR}/{name}")[0]


def all_documents(rendered):
    """Every rendered document that no real tool judges here: the API server's own files and Calico's."""
    docs = [
        apiserver_file(rendered, f)
        for f in ("audit-policy.yaml", "admission.yaml", "authentication.yaml", "encryption.yaml")
    ]
    docs += [plugin["configuration"] for plugin in apiserver_file(rendered, "admission.yaml")["plugins"]]
    return docs + rendered.calico


# Structure


def test_every_document_matches_its_upstream_schema(rendered):
    kinds = []
    for doc in all_documents(rendered):
        validate(doc)
        kinds.append(doc["kind"])
    assert sorted(kinds) == sorted(
        [
            "Policy",
            "AdmissionConfiguration",
            "AuthenticationConfiguration",
            "EncryptionConfiguration",
            "PodSecurityConfiguration",
            "Configuration",
            "Installation",
            "FelixConfiguration",
        ]
    )


def kubeadm_validate(path):
    return subprocess.run(
        [KUBEADM, "config", "validate", "--config", path], capture_output=True, text=True, check=False
    )


def test_kubeadm_accepts_every_configuration(rendered):
    files = [rendered.path(CP, "etc/kubernetes/kubeadm/init.yaml")]
    files += [rendered.path(w, "etc/kubernetes/kubeadm/join.yaml") for w in rendered.workers]
    for path in files:
        result = kubeadm_validate(path)
        assert result.returncode == 0, (path, result.stderr)
        assert "ok" in result.stdout, (path, result.stdout)


# What kubeadm must refuse, as a rendered file with one change: proof that the check above judges.
# (file, kind of the changed document, change, what kubeadm's error names)
KUBEADM_REJECTS = [
    ("init", "ClusterConfiguration", lambda d: d["apiServer"].update(extraArgs={"profiling": "false"}), "extraArgs"),
    (
        "init",
        "ClusterConfiguration",
        lambda d: d["apiServer"].update(timeoutForControlPlane="4m"),
        "timeoutForControlPlane",
    ),
    ("init", "ClusterConfiguration", lambda d: d["networking"].update(podSubnet="10.244.0.0/33"), "podSubnet"),
    ("init", "KubeletConfiguration", lambda d: d.update(readOnlyPort="0"), "readOnlyPort"),
    ("init", "KubeletConfiguration", lambda d: d.update(anonymousAuth=False), "anonymousAuth"),
    ("init", "InitConfiguration", lambda d: d["bootstrapTokens"][0].update(token="not-a-token"), "not-a-token"),
    ("join", "JoinConfiguration", lambda d: d["discovery"]["bootstrapToken"].pop("caCertHashes"), "caCertHashes"),
    (
        "join",
        "JoinConfiguration",
        lambda d: d["discovery"]["bootstrapToken"].update(token="not-a-token"),
        "not-a-token",
    ),
]


@pytest.mark.parametrize(
    ("file", "kind", "change", "named"), KUBEADM_REJECTS, ids=[f"{r[0]}-{r[3]}" for r in KUBEADM_REJECTS]
)
def test_kubeadm_rejects_a_broken_configuration(lab, tmp_path, file, kind, change, named):
    host = CP if file == "init" else lab.workers[0]
    docs = lab.docs(host, f"etc/kubernetes/kubeadm/{file}.yaml")
    change(next(d for d in docs if d["kind"] == kind))
    broken = tmp_path / f"{file}.yaml"
    broken.write_text(yaml.safe_dump_all(docs))
    result = kubeadm_validate(broken)
    assert result.returncode != 0
    assert named in result.stderr


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Everything"}]}, "is not one of"),
        (
            {
                "apiVersion": "operator.tigera.io/v1",
                "kind": "Installation",
                "metadata": {"name": "default"},
                "spec": {"calicoNetwork": {"ipPools": [{"cidr": "10.244.0.0/16", "encapsulation": "Vxlan"}]}},
            },
            "is not one of",
        ),
    ],
)
def test_schemas_reject_what_upstream_rejects(doc, error):
    with pytest.raises(jsonschema.ValidationError, match=error):
        validate(doc)


# kubeadm


def test_cluster_networks_and_endpoint(rendered):
    config = cluster(rendered)
    assert config["networking"] == {
        "podSubnet": "10.244.0.0/16",
        "serviceSubnet": "10.96.0.0/16",
        "dnsDomain": "cluster.local",
    }
    assert config["kubernetesVersion"] == f"v{ROLE_DEFAULTS['kubernetes_version']}"
    assert config["clusterName"] == f"homelab-{rendered.name}"
    expected_ip = "100.64.0.10" if rendered.name != "lab" else "10.0.2.100"
    assert config["controlPlaneEndpoint"] == f"{expected_ip}:6443"
    assert init(rendered)["localAPIEndpoint"] == {"advertiseAddress": expected_ip, "bindPort": 6443}


def test_cert_sans_hold_the_tailscale_address_and_name(rendered):
    sans = cluster(rendered)["apiServer"]["certSANs"]
    if rendered.name != "lab":
        assert "100.64.0.10" in sans
        assert "k8s-master-01.tail1234.ts.net" in sans  # trailing dot of the MagicDNS name removed
    else:
        assert sans == ["10.0.2.100", "k8s-master-01"]
    for san in sans:
        assert not san.endswith(".")


def test_node_ip_from_tailscale(rendered):
    for doc in [init(rendered)] + [
        rendered.doc(w, "etc/kubernetes/kubeadm/join.yaml", "JoinConfiguration") for w in rendered.workers
    ]:
        node_ip = {a["name"]: a["value"] for a in doc["nodeRegistration"]["kubeletExtraArgs"]}["node-ip"]
        if rendered.name != "lab":
            assert ipaddress.ip_address(node_ip) in ipaddress.ip_network("100.64.0.0/10")
        else:
            assert node_ip == "10.0.2.100"


def test_init_bootstrap_token_is_short_lived_and_not_written(rendered):
    (token,) = init(rendered)["bootstrapTokens"]
    assert token["ttl"] == "15m"
    assert "token" not in token  # kubeadm generates it; --skip-token-print keeps it out of the output


def test_apiserver_hardening(rendered):
    a = args(cluster(rendered)["apiServer"])
    assert "anonymous-auth" not in a  # replaced by the authentication configuration, see below
    assert a["authentication-config"] == "/etc/kubernetes/apiserver/authentication.yaml"
    assert a["profiling"] == "false"
    assert a["authorization-mode"] == "Node,RBAC"
    assert set(a["enable-admission-plugins"].split(",")) == {
        "NodeRestriction",
        "DenyServiceExternalIPs",
        "EventRateLimit",
    }
    assert a["admission-control-config-file"] == "/etc/kubernetes/apiserver/admission.yaml"
    assert a["encryption-provider-config"] == "/etc/kubernetes/apiserver/encryption.yaml"
    assert a["audit-policy-file"] == "/etc/kubernetes/apiserver/audit-policy.yaml"
    assert a["audit-log-path"] == "/var/log/kubernetes/audit/audit.log"
    assert int(a["audit-log-maxage"]) >= 30
    assert int(a["audit-log-maxbackup"]) >= 10
    assert int(a["audit-log-maxsize"]) >= 100
    assert a["tls-min-version"] == "VersionTLS12"
    assert set(a["tls-cipher-suites"].split(",")) == STRONG_CIPHERS
    assert a["kubelet-certificate-authority"] == "/etc/kubernetes/pki/ca.crt"
    assert a["service-account-lookup"] == "true"


def test_apiserver_mounts_its_configuration_read_only(rendered):
    volumes = {v["name"]: v for v in cluster(rendered)["apiServer"]["extraVolumes"]}
    assert volumes["homelab-apiserver-config"]["hostPath"] == "/etc/kubernetes/apiserver"
    assert volumes["homelab-apiserver-config"]["readOnly"] is True
    assert volumes["homelab-audit-log"]["mountPath"] == "/var/log/kubernetes/audit"


def test_controller_manager_and_scheduler_hardening(rendered):
    for component in ("controllerManager", "scheduler"):
        a = args(cluster(rendered)[component])
        assert a["profiling"] == "false", component
        assert a["bind-address"] == "127.0.0.1", component
        assert a["tls-min-version"] == "VersionTLS12", component
    cm = args(cluster(rendered)["controllerManager"])
    assert cm["use-service-account-credentials"] == "true"
    assert int(cm["terminated-pod-gc-threshold"]) > 0


def test_etcd_uses_strong_ciphers(rendered):
    etcd = {a["name"]: a["value"] for a in cluster(rendered)["etcd"]["local"]["extraArgs"]}
    assert set(etcd["cipher-suites"].split(",")) == STRONG_CIPHERS


def test_kubelet_hardening(rendered):
    k = kubelet(rendered)
    assert k["authentication"]["anonymous"]["enabled"] is False
    assert k["authentication"]["webhook"]["enabled"] is True
    assert k["authentication"]["x509"]["clientCAFile"] == "/etc/kubernetes/pki/ca.crt"
    assert k["authorization"]["mode"] == "Webhook"
    assert k["readOnlyPort"] == 0
    assert k["protectKernelDefaults"] is True
    assert k["rotateCertificates"] is True
    assert k["serverTLSBootstrap"] is True
    assert k["seccompDefault"] is True
    assert k["makeIPTablesUtilChains"] is True
    assert k["tlsMinVersion"] == "VersionTLS12"
    assert set(k["tlsCipherSuites"]) == STRONG_CIPHERS
    assert k["podPidsLimit"] > 0
    assert k["cgroupDriver"] == "systemd"
    assert k["clusterDNS"] == ["10.96.0.10"]
    assert k["streamingConnectionIdleTimeout"] != "0s"


def test_kubelet_sysctls_match_protect_kernel_defaults(rendered):
    for host in [CP, *rendered.workers]:
        text = rendered.path(host, "etc/sysctl.d/99-homelab-kubernetes.conf").read_text()
        settings = dict(line.split(" = ") for line in text.splitlines() if line and not line.startswith("#"))
        assert settings == {
            "net.bridge.bridge-nf-call-ip6tables": "1",
            "net.bridge.bridge-nf-call-iptables": "1",
            "net.ipv4.ip_forward": "1",
            "kernel.keys.root_maxbytes": "25000000",
            "kernel.keys.root_maxkeys": "1000000",
            "kernel.panic": "10",
            "kernel.panic_on_oops": "1",
            "vm.overcommit_memory": "1",
            "vm.panic_on_oom": "0",
        }


def test_join_configuration_pins_the_ca(rendered):
    ca_pem = (rendered.root / "ca" / "ca.crt").read_text()
    der = subprocess.run(
        "openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum",
        input=ca_pem,
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    for worker in rendered.workers:
        join = rendered.doc(worker, "etc/kubernetes/kubeadm/join.yaml", "JoinConfiguration")
        discovery = join["discovery"]["bootstrapToken"]
        assert discovery["caCertHashes"] == [f"sha256:{der}"]
        assert "unsafeSkipCAVerification" not in discovery
        assert discovery["apiServerEndpoint"] == cluster(rendered)["controlPlaneEndpoint"]
        assert oct(rendered.path(worker, "etc/kubernetes/kubeadm/join.yaml").stat().st_mode & 0o777) == "0o600"


TAINTS = {
    "k8s-worker-01": [],
    "k8s-worker-02": [{"key": "homelab.k8s/dedicated", "value": "ci-registry", "effect": "NoSchedule"}],
    "k8s-worker-03": [{"key": "homelab.k8s/dedicated", "value": "security-monitoring", "effect": "NoSchedule"}],
}


def test_node_taints_at_registration(rendered):
    for worker in rendered.workers:
        join = rendered.doc(worker, "etc/kubernetes/kubeadm/join.yaml", "JoinConfiguration")
        assert join["nodeRegistration"]["taints"] == TAINTS[worker]
    assert init(rendered)["nodeRegistration"]["taints"] == [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    ]


# API server files


def test_anonymous_requests_only_on_health_endpoints_and_cluster_info(rendered):
    authn = apiserver_file(rendered, "authentication.yaml")
    assert authn["anonymous"]["enabled"] is True
    assert sorted(c["path"] for c in authn["anonymous"]["conditions"]) == [
        "/api/v1/namespaces/kube-public/configmaps/cluster-info",
        "/healthz",
        "/livez",
        "/readyz",
    ]


def test_pod_security_defaults(rendered):
    plugins = {p["name"]: p for p in apiserver_file(rendered, "admission.yaml")["plugins"]}
    plugin = plugins["PodSecurity"]
    defaults = plugin["configuration"]["defaults"]
    assert defaults["enforce"] == "baseline"
    assert defaults["audit"] == defaults["warn"] == "restricted"
    assert plugin["configuration"]["exemptions"]["namespaces"] == ["kube-system"]


def test_event_rate_limit(rendered):
    plugins = {p["name"]: p for p in apiserver_file(rendered, "admission.yaml")["plugins"]}
    limits = {limit["type"]: limit for limit in plugins["EventRateLimit"]["configuration"]["limits"]}
    assert limits["Server"] == {"type": "Server", "qps": 50, "burst": 100}
    assert limits["Namespace"]["qps"] == 50


def test_audit_policy_never_records_secret_bodies(rendered):
    policy = apiserver_file(rendered, "audit-policy.yaml")
    assert policy["omitStages"] == ["RequestReceived"]
    secret_rules = [
        r for r in policy["rules"] if any("secrets" in g.get("resources", []) for g in r.get("resources", []))
    ]
    assert secret_rules
    first_match = secret_rules[0]
    assert first_match["level"] == "Metadata"
    # nothing before it could log secrets at a higher level
    before = policy["rules"][: policy["rules"].index(first_match)]
    assert all(r["level"] == "None" for r in before)
    assert policy["rules"][-1] == {"level": "Metadata"}


def test_encryption_at_rest(rendered):
    path = rendered.path(CP, f"{APISERVER_DIR}/encryption.yaml")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    config = yaml.safe_load(path.read_text())
    (resource,) = config["resources"]
    assert resource["resources"] == ["secrets"]
    first, last = resource["providers"]
    assert list(first) == ["secretbox"]
    assert last == {"identity": {}}
    key = first["secretbox"]["keys"][0]["secret"]
    assert len(base64.b64decode(key, validate=True)) == 32


def encryption_key(rendered):
    config = yaml.safe_load(rendered.path(CP, f"{APISERVER_DIR}/encryption.yaml").read_text())
    return config["resources"][0]["providers"][0]["secretbox"]["keys"][0]["secret"]


def test_encryption_key_never_reaches_output(rendered):
    key = encryption_key(rendered)
    assert "Write the encryption configuration" in rendered.output  # the run at -vvv did write it
    assert "the output has been hidden" in rendered.output
    assert key not in rendered.output
    assert base64.b64decode(key).hex() not in rendered.output


def test_second_run_changes_nothing_and_keeps_the_key(lab, lab_rerun):
    key = encryption_key(lab)
    assert re.search(r"changed=[1-9]", lab.output)
    assert set(re.findall(r"changed=(\d+)", lab_rerun)) == {"0"}
    assert encryption_key(lab) == key
    assert key not in lab_rerun


def test_configuration_files_are_private(rendered):
    for name in ("audit-policy.yaml", "admission.yaml", "authentication.yaml", "encryption.yaml"):
        assert oct(rendered.path(CP, f"{APISERVER_DIR}/{name}").stat().st_mode & 0o777) == "0o600", name
    assert oct(rendered.path(CP, "etc/kubernetes/kubeadm/init.yaml").stat().st_mode & 0o777) == "0o600"
    assert oct(rendered.path(CP, APISERVER_DIR).stat().st_mode & 0o777) == "0o700"


# Calico


def test_calico_pool_follows_the_clusters_pod_network(tmp_path):
    """One source: a pod network set for the kubernetes role alone is Calico's pool too."""
    inventory = write_inventory(tmp_path / "inventory", "production")
    root = tmp_path / "root"
    make_ca(root / "ca")
    run_render(inventory, root, TAGS["production"], "--limit", CP, "-e", "kubernetes_pod_cidr=10.100.0.0/16")
    calico = [d for d in yaml.safe_load_all((root / "calico" / "calico-resources.yaml").read_text()) if d]
    installation = next(d for d in calico if d["kind"] == "Installation")
    assert [p["cidr"] for p in installation["spec"]["calicoNetwork"]["ipPools"]] == ["10.100.0.0/16"]
    init = [d for d in yaml.safe_load_all((root / CP / "etc/kubernetes/kubeadm/init.yaml").read_text()) if d]
    assert next(d for d in init if d["kind"] == "ClusterConfiguration")["networking"]["podSubnet"] == "10.100.0.0/16"


def test_calico_pool_and_encapsulation(rendered):
    installation = next(d for d in rendered.calico if d["kind"] == "Installation")
    network = installation["spec"]["calicoNetwork"]
    (pool,) = network["ipPools"]
    assert pool["cidr"] == "10.244.0.0/16"
    assert pool["encapsulation"] == "VXLAN"
    assert network["bgp"] == "Disabled"
    assert network["nodeAddressAutodetectionV4"] == {"kubernetes": "NodeInternalIP"}
    felix = next(d for d in rendered.calico if d["kind"] == "FelixConfiguration")
    assert felix["spec"] == {"wireguardEnabled": False}


# The lab


def test_lab_reports_every_step_it_cannot_run(lab):
    for step in (
        "kubernetes: packages",
        "kubernetes: kubeadm init",
        "kubernetes: kubeadm join",
        "kubernetes: admin kubeconfig",
        "kubernetes: node serving certificates and labels",
        "cni: Calico",
    ):
        assert f'"msg": "lab-skip: {step}' in lab.output, step
