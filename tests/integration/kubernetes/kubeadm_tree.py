"""What `kubeadm init` / `kubeadm join` and the kubeadm packages write on a node, reproduced from
the configuration the kubernetes role rendered, under a directory tree.

No kubeadm binary can run here. The static pod commands follow kubeadm's
cmd/kubeadm/app/phases/controlplane/manifests.go (getAPIServerCommand, getControllerManagerCommand,
getSchedulerCommand: default flags, then the configuration's extraArgs by name, sorted) and
phases/etcd/local.go; files get the modes kubeadm and the packages give them (certificates 0644,
keys, kubeconfigs and manifests 0600, /var/lib/kubelet/config.yaml 0644, unit files 0644), so
that the role's permissions step has real work to do.
"""

import os
import shutil
from pathlib import Path

import yaml

PKI = "/etc/kubernetes/pki"
ETCD_UID = 990  # the etcd system account the role creates on control-plane nodes


def _args(extra):
    return {a["name"]: a["value"] for a in extra or []}


def _command(binary, defaults, extra):
    merged = {**defaults, **_args(extra)}
    return [binary] + [f"--{name}={merged[name]}" for name in sorted(merged)]


def _write(root, path, text, mode):
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    os.chmod(target, mode)
    return target


def _host_path(name, path, kind="DirectoryOrCreate"):
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def _pod(name, command, mounts, probe_port, probe_path, scheme="HTTPS", host="127.0.0.1"):
    probe = {"httpGet": {"host": host, "path": probe_path, "port": probe_port, "scheme": scheme}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": {"component": name, "tier": "control-plane"},
        },
        "spec": {
            "containers": [
                {
                    "name": name,
                    "image": f"registry.k8s.io/{name}:v1.34.2",
                    "imagePullPolicy": "IfNotPresent",
                    "command": command,
                    "livenessProbe": {
                        **probe,
                        "failureThreshold": 8,
                        "initialDelaySeconds": 10,
                        "periodSeconds": 10,
                        "timeoutSeconds": 15,
                    },
                    "startupProbe": {
                        **probe,
                        "failureThreshold": 24,
                        "initialDelaySeconds": 10,
                        "periodSeconds": 10,
                        "timeoutSeconds": 15,
                    },
                    "resources": {"requests": {"cpu": "250m"}},
                    "volumeMounts": [
                        {"name": m["name"], "mountPath": m["mountPath"], "readOnly": m.get("readOnly", True)}
                        for m in mounts
                    ],
                }
            ],
            "hostNetwork": True,
            "priority": 2000001000,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [_host_path(m["name"], m["hostPath"], m.get("pathType", "DirectoryOrCreate")) for m in mounts],
        },
    }


CA_MOUNTS = [
    {"name": "k8s-certs", "hostPath": PKI, "mountPath": PKI},
    {"name": "ca-certs", "hostPath": "/etc/ssl/certs", "mountPath": "/etc/ssl/certs"},
]


def static_pods(init, cluster):
    """The four static pods kubeadm writes from the rendered Init- and ClusterConfiguration."""
    endpoint = init["localAPIEndpoint"]
    dns = cluster["networking"]["dnsDomain"]
    apiserver = _command(
        "kube-apiserver",
        {
            "advertise-address": endpoint["advertiseAddress"],
            "allow-privileged": "true",
            "authorization-mode": "Node,RBAC",
            "client-ca-file": f"{PKI}/ca.crt",
            "enable-admission-plugins": "NodeRestriction",
            "enable-bootstrap-token-auth": "true",
            "etcd-cafile": f"{PKI}/etcd/ca.crt",
            "etcd-certfile": f"{PKI}/apiserver-etcd-client.crt",
            "etcd-keyfile": f"{PKI}/apiserver-etcd-client.key",
            "etcd-servers": "https://127.0.0.1:2379",
            "kubelet-client-certificate": f"{PKI}/apiserver-kubelet-client.crt",
            "kubelet-client-key": f"{PKI}/apiserver-kubelet-client.key",
            "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
            "proxy-client-cert-file": f"{PKI}/front-proxy-client.crt",
            "proxy-client-key-file": f"{PKI}/front-proxy-client.key",
            "requestheader-allowed-names": "front-proxy-client",
            "requestheader-client-ca-file": f"{PKI}/front-proxy-ca.crt",
            "requestheader-extra-headers-prefix": "X-Remote-Extra-",
            "requestheader-group-headers": "X-Remote-Group",
            "requestheader-username-headers": "X-Remote-User",
            "secure-port": str(endpoint["bindPort"]),
            "service-account-issuer": f"https://kubernetes.default.svc.{dns}",
            "service-account-key-file": f"{PKI}/sa.pub",
            "service-account-signing-key-file": f"{PKI}/sa.key",
            "service-cluster-ip-range": cluster["networking"]["serviceSubnet"],
            "tls-cert-file": f"{PKI}/apiserver.crt",
            "tls-private-key-file": f"{PKI}/apiserver.key",
        },
        cluster["apiServer"]["extraArgs"],
    )
    kubeconfig = "/etc/kubernetes/controller-manager.conf"
    controller_manager = _command(
        "kube-controller-manager",
        {
            "allocate-node-cidrs": "true",
            "authentication-kubeconfig": kubeconfig,
            "authorization-kubeconfig": kubeconfig,
            "bind-address": "127.0.0.1",
            "client-ca-file": f"{PKI}/ca.crt",
            "cluster-cidr": cluster["networking"]["podSubnet"],
            "cluster-name": cluster["clusterName"],
            "cluster-signing-cert-file": f"{PKI}/ca.crt",
            "cluster-signing-key-file": f"{PKI}/ca.key",
            "controllers": "*,bootstrapsigner,tokencleaner",
            "kubeconfig": kubeconfig,
            "leader-elect": "true",
            "requestheader-client-ca-file": f"{PKI}/front-proxy-ca.crt",
            "root-ca-file": f"{PKI}/ca.crt",
            "service-account-private-key-file": f"{PKI}/sa.key",
            "service-cluster-ip-range": cluster["networking"]["serviceSubnet"],
            "use-service-account-credentials": "true",
        },
        cluster["controllerManager"]["extraArgs"],
    )
    scheduler_conf = "/etc/kubernetes/scheduler.conf"
    scheduler = _command(
        "kube-scheduler",
        {
            "authentication-kubeconfig": scheduler_conf,
            "authorization-kubeconfig": scheduler_conf,
            "bind-address": "127.0.0.1",
            "kubeconfig": scheduler_conf,
            "leader-elect": "true",
        },
        cluster["scheduler"]["extraArgs"],
    )
    ip = endpoint["advertiseAddress"]
    etcd = _command(
        "etcd",
        {
            "advertise-client-urls": f"https://{ip}:2379",
            "cert-file": f"{PKI}/etcd/server.crt",
            "client-cert-auth": "true",
            "data-dir": cluster["etcd"]["local"]["dataDir"],
            "experimental-initial-corrupt-check": "true",
            "experimental-watch-progress-notify-interval": "5s",
            "initial-advertise-peer-urls": f"https://{ip}:2380",
            "initial-cluster": f"{init['nodeRegistration']['name']}=https://{ip}:2380",
            "key-file": f"{PKI}/etcd/server.key",
            "listen-client-urls": f"https://127.0.0.1:2379,https://{ip}:2379",
            "listen-metrics-urls": "http://127.0.0.1:2381",
            "listen-peer-urls": f"https://{ip}:2380",
            "name": init["nodeRegistration"]["name"],
            "peer-cert-file": f"{PKI}/etcd/peer.crt",
            "peer-client-cert-auth": "true",
            "peer-key-file": f"{PKI}/etcd/peer.key",
            "peer-trusted-ca-file": f"{PKI}/etcd/ca.crt",
            "snapshot-count": "10000",
            "trusted-ca-file": f"{PKI}/etcd/ca.crt",
        },
        cluster["etcd"]["local"].get("extraArgs"),
    )
    apiserver_mounts = CA_MOUNTS + [
        {**v, "pathType": v.get("pathType", "DirectoryOrCreate")} for v in cluster["apiServer"]["extraVolumes"]
    ]
    return {
        "kube-apiserver": _pod("kube-apiserver", apiserver, apiserver_mounts, 6443, "/livez", host=ip),
        "kube-controller-manager": _pod(
            "kube-controller-manager",
            controller_manager,
            [
                *CA_MOUNTS,
                {"name": "kubeconfig", "hostPath": kubeconfig, "mountPath": kubeconfig, "pathType": "FileOrCreate"},
            ],
            10257,
            "/healthz",
        ),
        "kube-scheduler": _pod(
            "kube-scheduler",
            scheduler,
            [
                {
                    "name": "kubeconfig",
                    "hostPath": scheduler_conf,
                    "mountPath": scheduler_conf,
                    "pathType": "FileOrCreate",
                }
            ],
            10259,
            "/healthz",
        ),
        "etcd": _pod(
            "etcd",
            etcd,
            [
                {"name": "etcd-data", "hostPath": "/var/lib/etcd", "mountPath": "/var/lib/etcd", "readOnly": False},
                {"name": "etcd-certs", "hostPath": f"{PKI}/etcd", "mountPath": f"{PKI}/etcd"},
            ],
            2381,
            "/livez",
            scheme="HTTP",
        ),
    }


BOOTSTRAP = "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf"
KUBEADM_DROPIN = f"""[Service]
Environment="KUBELET_KUBECONFIG_ARGS={BOOTSTRAP} --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""
KUBELET_SERVICE = """[Unit]
Description=kubelet
[Service]
ExecStart=/usr/bin/kubelet
Restart=always
[Install]
WantedBy=multi-user.target
"""
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n"


def node(root, kubelet_config, registration, ca_cert):
    """What every node has after kubeadm init or join, and the kubelet package."""
    _write(root, "/usr/lib/systemd/system/kubelet.service", KUBELET_SERVICE, 0o644)
    _write(root, "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", KUBEADM_DROPIN, 0o644)
    _write(root, "/var/lib/kubelet/config.yaml", yaml.safe_dump(kubelet_config), 0o644)
    flags = " ".join(f"--{a['name']}={a['value']}" for a in registration["kubeletExtraArgs"])
    _write(root, "/var/lib/kubelet/kubeadm-flags.env", f'KUBELET_KUBEADM_ARGS="{flags}"\n', 0o644)
    _write(root, "/etc/kubernetes/kubelet.conf", KUBECONFIG, 0o600)
    (root / "etc/kubernetes/pki").mkdir(parents=True, exist_ok=True)
    shutil.copy(ca_cert, root / "etc/kubernetes/pki/ca.crt")
    os.chmod(root / "etc/kubernetes/pki/ca.crt", 0o644)
    _write(
        root,
        "/etc/passwd",
        f"root:x:0:0:root:/root:/bin/bash\netcd:x:{ETCD_UID}:{ETCD_UID}::/:/usr/sbin/nologin\n",
        0o644,
    )
    _write(root, "/etc/group", f"root:x:0:\netcd:x:{ETCD_UID}:\n", 0o644)


def control_plane(root, init, cluster, ca_cert):
    """What kubeadm init adds on the control-plane node; returns the static pods it wrote."""
    pods = static_pods(init, cluster)
    for name, pod in pods.items():
        _write(root, f"/etc/kubernetes/manifests/{name}.yaml", yaml.safe_dump(pod), 0o600)
    for conf in ("admin", "super-admin", "controller-manager", "scheduler"):
        _write(root, f"/etc/kubernetes/{conf}.conf", KUBECONFIG, 0o600)
    for pair in (
        "apiserver",
        "apiserver-kubelet-client",
        "apiserver-etcd-client",
        "front-proxy-ca",
        "front-proxy-client",
        "etcd/ca",
        "etcd/server",
        "etcd/peer",
        "etcd/healthcheck-client",
    ):
        _write(root, f"{PKI}/{pair}.crt", Path(ca_cert).read_text(), 0o644)
        _write(root, f"{PKI}/{pair}.key", "private\n", 0o600)
    _write(root, f"{PKI}/ca.key", "private\n", 0o600)
    _write(root, f"{PKI}/sa.key", "private\n", 0o600)
    _write(root, f"{PKI}/sa.pub", "public\n", 0o600)
    etcd_dir = root / "var/lib/etcd"
    etcd_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(etcd_dir, 0o700)
    os.chown(etcd_dir, ETCD_UID, ETCD_UID)
    return pods
