"""The etcd_backup role against the real etcd of the test cluster.

A few thousand ConfigMaps are created through the API server; the role snapshots etcd on the
control plane with etcdctl and kubeadm's etcd client certificate, encrypts the snapshot there
with the real age to a public key, fetches it, verifies it on the controller by decrypting it and
restoring it into a scratch etcd, compares revision and key count with the source, pushes the
backups to an rsync target and applies retention. Truncated and corrupt copies must be refused.
"""

import hashlib
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from backup_tools import VERIFY_TOOLS
from cluster_harness import BIN, ENV
from kubernetes import client
from playbook_runner import ansible_playbook

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
NAMESPACE = "maintenance-etcd-backup"
OBJECTS = 3000
HOST = "k8s-master-01"
OLD_STAMPS = ["20250101T000000Z", "20250102T000000Z", "20250103T000000Z"]


def playbook(cluster, name, settings, path):
    path.write_text(json.dumps(settings))
    return ansible_playbook(
        HERE / name, "-i", cluster.inventory, "-e", f"@{path}", env={**ENV, "ANSIBLE_STDOUT_CALLBACK": "default"}
    )


def create_config_maps(api_client, count):
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))

    def create(i):
        body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"cm-{i:05d}"), data={"index": str(i)})
        core.create_namespaced_config_map(NAMESPACE, body)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(count)))


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def backup(cluster, age_identity, tmp_path_factory):
    base = tmp_path_factory.mktemp("etcd-backup")
    local, remote = base / "backups", base / "remote"
    local.mkdir()
    remote.mkdir()
    # Older backups of this host (retention keeps the newest two) and files retention must leave alone.
    for stamp in OLD_STAMPS:
        for suffix in ("", ".sha256", ".json"):
            (local / f"etcd-{HOST}-{stamp}.db.age{suffix}").write_text("old")
    (local / "notes.txt").write_text("not a backup")
    (remote / "unrelated.txt").write_text("not a backup")
    started = time.monotonic()
    create_config_maps(cluster.api(), OBJECTS)
    created = time.monotonic() - started
    identity, public = age_identity
    settings = {
        "etcd_backup_age_recipients": [public],
        "etcd_backup_identity_file": str(identity),
        "etcd_backup_local_dir": str(local),
        "etcd_backup_rsync_target": str(remote) + "/",
        "etcd_backup_keep": 2,
        **VERIFY_TOOLS,
        "etcd_backup_test_result_file": str(base / "result.json"),
    }
    started = time.monotonic()
    run = playbook(cluster, "etcd_backup.yml", settings, base / "vars.json")
    took = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    result = json.loads((base / "result.json").read_text())
    print(
        f"\netcd backup of {OBJECTS} ConfigMaps (created in {created:.1f} s): playbook {took:.1f} s, "
        f"role {result['seconds']} s, verify {result['verify_seconds']}, snapshot {result['plain_size']} bytes, "
        f"encrypted {result['size']} bytes, revision {result['revision']}, {result['key_count']} keys"
    )
    return SimpleNamespace(
        run=run, result=result, local=local, remote=remote, base=base, settings=settings, identity=identity
    )


def test_backup_is_encrypted_copied_and_verified(cluster, backup):
    result = backup.result
    path = Path(result["path"])
    assert path.parent == backup.local
    assert path.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert sha256(path) == result["sha256"]
    assert (backup.local / (path.name + ".sha256")).read_text() == f"{result['sha256']}  {path.name}\n"
    described = json.loads((backup.local / (path.name + ".json")).read_text())
    assert described["sha256"] == result["sha256"]
    assert described["recipients"] == backup.settings["etcd_backup_age_recipients"]
    assert result["verified"] is True
    assert result["key_count"] >= OBJECTS
    assert "Compare the restored etcd with the source" in backup.run.stdout
    # Nothing of the snapshot stays on the node, neither plain nor encrypted.
    assert cluster.control_plane.exec("ls", "-A", "/var/backups/etcd").stdout == ""
    # The monitoring role's backup alerts read the node's textfile metrics.
    metrics = cluster.control_plane.read("/var/lib/prometheus/node-exporter/homelab_etcd_backup.prom")
    values = dict(line.split() for line in metrics.splitlines() if not line.startswith("#"))
    assert abs(float(values["homelab_etcd_backup_last_success_timestamp_seconds"]) - time.time()) < 3600
    assert int(values["homelab_etcd_backup_size_bytes"]) == path.stat().st_size
    assert values["homelab_etcd_backup_verified"] == "1"
    # The identity never reaches the output.
    secret = next(line for line in backup.identity.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-"))
    assert secret not in backup.run.output


def test_decrypted_backup_holds_the_config_maps(backup, tmp_path):
    plain = tmp_path / "snapshot.db"
    subprocess.run(
        [BIN / "age", "-d", "-i", backup.identity, "-o", plain, backup.result["path"]], check=True, capture_output=True
    )
    assert sha256(plain) == backup.result["plain_sha256"]
    status = json.loads(
        subprocess.run(
            [BIN / "etcdutl", "snapshot", "status", "-w", "json", plain], check=True, capture_output=True, text=True
        ).stdout
    )
    assert status["revision"] == backup.result["revision"]
    assert b"/registry/configmaps/" + NAMESPACE.encode() + b"/cm-02999" in plain.read_bytes()


def test_retention_keeps_the_newest_and_the_target_mirrors_them(backup):
    newest = Path(backup.result["path"]).name
    kept = sorted(p.name for p in backup.local.glob("*.db.age"))
    assert kept == [f"etcd-{HOST}-{OLD_STAMPS[-1]}.db.age", newest]
    assert not list(backup.local.glob(f"etcd-{HOST}-{OLD_STAMPS[0]}*"))
    assert (backup.local / "notes.txt").exists()
    mirrored = sorted(p.name for p in backup.remote.iterdir())
    assert mirrored == sorted([*(f"{name}{s}" for name in kept for s in ("", ".sha256", ".json")), "unrelated.txt"])
    assert sha256(backup.remote / newest) == backup.result["sha256"]


@pytest.mark.parametrize("damage", ["truncated", "bit flipped"])
def test_damaged_backup_is_detected(cluster, backup, tmp_path, damage):
    data = bytearray(Path(backup.result["path"]).read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x01
    copy = tmp_path / Path(backup.result["path"]).name
    copy.write_bytes(bytes(data))
    taken = {
        "file": copy.name,
        "sha256": backup.result["sha256"],
        "plain_sha256": backup.result["plain_sha256"],
        "revision_before": 0,
        "revision_after": backup.result["revision"],
    }
    settings = {**backup.settings, "etcd_backup_local_dir": str(tmp_path), "etcd_backup_taken": taken}
    recorded = playbook(cluster, "verify.yml", settings, tmp_path / "vars.json")
    assert recorded.returncode != 0
    assert f"backup {copy} is corrupt or truncated: sha256 {sha256(copy)}, expected {backup.result['sha256']}" in (
        recorded.stdout
    )
    # Even when the checksum file travelled with the damage, age's authentication refuses it.
    taken["sha256"] = sha256(copy)
    unrecorded = playbook(cluster, "verify.yml", settings, tmp_path / "vars.json")
    assert unrecorded.returncode != 0
    assert f"decrypt {copy} failed" in unrecorded.stdout


def test_bad_recipient_is_refused_before_any_snapshot(cluster, backup, tmp_path):
    bad = {"etcd_backup_age_recipients": ["age1notakey"], "etcd_backup_local_dir": str(tmp_path)}
    settings = {**backup.settings, **bad}
    run = playbook(cluster, "etcd_backup.yml", settings, tmp_path / "vars.json")
    assert run.returncode != 0
    assert 'etcd_backup_age_recipients must be a non-empty list of age public keys (age1..., got ["age1notakey"]' in (
        run.stdout
    )
    assert "Save the snapshot" not in run.stdout
    assert list(tmp_path.glob("*.db.age")) == []


def test_check_mode_takes_no_snapshot(cluster, backup, tmp_path):
    settings = {**backup.settings, "etcd_backup_local_dir": str(tmp_path / "none")}
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(settings))
    run = ansible_playbook(HERE / "etcd_backup.yml", "--check", "-i", cluster.inventory, "-e", f"@{path}", env={**ENV})
    assert run.returncode == 0, run.stdout[-4000:]
    assert "check mode: etcd_backup takes no snapshot" in run.stdout
    assert run.recap(HOST)["changed"] == 0
    assert not (tmp_path / "none").exists()
    assert cluster.control_plane.exec("ls", "-A", "/var/backups/etcd").stdout == ""
