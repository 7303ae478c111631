"""Regressions of the bootstrap defects a real cluster hit, each on the running control plane."""

import base64
import ipaddress
import time

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client

pytestmark = pytest.mark.slow

CP = "k8s-master-01"
SERVING_CERT = "/var/lib/kubelet/pki/kubelet-server-current.pem"


def admin(cluster):
    return client.CoreV1Api(cluster.api())


def certificates(api_client):
    return client.CertificatesV1Api(api_client)


def serving_request(node, dns_names, ips):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node}"),
        ]
    )
    sans = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def nodes_step(cluster, *extra):
    run = cluster.run_role("--tags", "kubernetes_nodes", *extra)
    assert run.returncode == 0, run.stdout[-6000:]
    return run


# 2. Re-runs fail after an hour


def test_rerun_does_not_wait_for_requests_of_nodes_that_hold_a_serving_certificate(cluster):
    assert cluster.control_plane.exec("test", "-s", SERVING_CERT, check=False).returncode == 0
    # An hour later the garbage collector has removed the approved requests.
    certificates(cluster.api()).delete_collection_certificate_signing_request()
    start = time.monotonic()
    run = nodes_step(cluster)
    assert time.monotonic() - start < 60, "the step waited for a request no node will make"
    assert "FAILED - RETRYING" not in run.stdout


# 3. CSR approval trusts the requester only


def test_the_nodes_own_serving_request_was_approved(cluster):
    approval = cluster.first_run.task(
        "homelab.k8s.kubernetes : Approve the serving certificate requests of the nodes' own names and addresses"
    )
    assert "changed: [k8s-master-01]" in approval
    pem = cluster.control_plane.read(SERVING_CERT)
    cert = x509.load_pem_x509_certificate(pem.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [CP]


def test_a_forged_serving_request_stays_pending(cluster):
    api = certificates(cluster.node_api_client())
    forged = api.create_certificate_signing_request(
        client.V1CertificateSigningRequest(
            metadata=client.V1ObjectMeta(generate_name="forged-"),
            spec=client.V1CertificateSigningRequestSpec(
                request=serving_request(CP, [CP, "k8s-worker-01"], ["10.0.2.100", "10.0.2.200"]),
                signer_name="kubernetes.io/kubelet-serving",
                usages=["digital signature", "server auth"],
            ),
        )
    ).metadata.name
    run = nodes_step(cluster)
    assert f"not approved: {forged} from {CP}: k8s-worker-01, 10.0.2.200 not addresses of node {CP}" in run.stdout
    status = certificates(cluster.api()).read_certificate_signing_request(forged).status
    assert not status.conditions and not status.certificate


# 4. Changing the encryption provider locks Secrets away


def restart_api_server(cluster):
    cluster.control_plane.exec("pkill", "-x", "kube-apiserver")
    time.sleep(3)
    cluster.wait_ready()


def encryption_config(cluster):
    return yaml.safe_load(cluster.control_plane.read("/etc/kubernetes/apiserver/encryption.yaml"))


def test_a_new_encryption_provider_keeps_the_old_one_to_read(cluster):
    api = admin(cluster)
    api.create_namespaced_secret(
        "default", client.V1Secret(metadata=client.V1ObjectMeta(name="before-change"), string_data={"v": "old"})
    )
    run = cluster.run_role("--tags", "kubernetes_config", "-e", "kubernetes_encryption_provider=aescbc")
    assert run.returncode == 0, run.stdout[-6000:]
    providers = encryption_config(cluster)["resources"][0]["providers"]
    names = [next(iter(p)) for p in providers]
    assert names[0] == "aescbc"
    assert "secretbox" in names
    assert providers[-1] == {"identity": {}}
    restart_api_server(cluster)
    old = api.read_namespaced_secret("before-change", "default")
    assert base64.b64decode(old.data["v"]).decode() == "old"
    api.create_namespaced_secret(
        "default", client.V1Secret(metadata=client.V1ObjectMeta(name="after-change"), string_data={"v": "new"})
    )
    raw = cluster.control_plane.etcd_value("/registry/secrets/default/after-change")
    key_name = providers[0]["aescbc"]["keys"][0]["name"]
    assert raw.startswith(f"k8s:enc:aescbc:v1:{key_name}:".encode()), raw[:40]
    # a second run keeps both providers and the keys
    rerun = cluster.run_role("--tags", "kubernetes_config", "-e", "kubernetes_encryption_provider=aescbc")
    assert rerun.recap(CP)["changed"] == 0, rerun.stdout[-4000:]
    assert encryption_config(cluster)["resources"][0]["providers"] == providers
    # back to the default provider, for the tests after this one: a third key, the others kept to read
    back = cluster.run_role("--tags", "kubernetes_config")
    assert back.returncode == 0, back.stdout[-4000:]
    assert [next(iter(p)) for p in encryption_config(cluster)["resources"][0]["providers"]] == [
        "secretbox",
        "aescbc",
        "secretbox",
        "identity",
    ]


# 8. The OS hostname is the node name


def test_a_host_called_otherwise_than_its_node_is_refused_before_any_change(cluster):
    run = cluster.run_role("--limit", "k8s-worker-02", "-e", "kubernetes_node_name=worker-two")
    assert run.returncode != 0
    assert (
        "k8s-worker-02: the host is called 'k8s-worker-02' but its node would be 'worker-two': set the hostname "
        "(hostnamectl set-hostname worker-two) or kubernetes_node_name=k8s-worker-02." in run.stdout
    )
    assert run.recap("k8s-worker-02")["changed"] == 0


# 5. A failed kubeadm init is never retried: see test_control_plane.test_an_unfinished_init_is_reset_and_run_again


def test_an_initialised_cluster_is_not_initialised_again(cluster):
    run = cluster.run_role("--tags", "kubernetes_init")
    assert run.returncode == 0, run.stdout[-4000:]
    assert run.recap(CP)["changed"] == 0
    init = run.task("homelab.k8s.kubernetes : Run kubeadm init")
    assert init.startswith("skipping:"), init


def test_without_the_role_s_record_the_api_server_decides(cluster):
    host = cluster.control_plane
    host.exec("rm", "/etc/kubernetes/kubeadm/init-state")
    run = cluster.run_role("--tags", "kubernetes_init")
    assert run.returncode == 0, run.stdout[-4000:]
    assert host.read("/etc/kubernetes/kubeadm/init-state").strip() == "complete"
    assert "Record a cluster initialised before the state file existed" in run.stdout
    init = run.task("homelab.k8s.kubernetes : Run kubeadm init")
    assert init.startswith("skipping:"), init
