"""playbooks/maintenance.yml end to end on the test cluster, unattended, twice; its lock.

The first run backs up etcd, checks the certificates and audits CIS drift; the second changes
nothing but what a schedule must change: a new backup (and the retention of old ones), new CIS
reports, a new summary.
"""

import json
import os
import re
import time
from pathlib import Path

import pytest
from backup_tools import VERIFY_TOOLS
from cluster_harness import ENV
from playbook_runner import ansible_playbook

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "maintenance.yml"
TAGS = "etcd_backup,certificates,cis_drift"
# Tasks a scheduled run changes every time, by design.
SCHEDULED_CHANGES = {
    "homelab.k8s.etcd_backup : Create the backup directory on the controller",
    "homelab.k8s.etcd_backup : Save the snapshot",
    "homelab.k8s.etcd_backup : Encrypt the snapshot to the age recipients",
    "homelab.k8s.etcd_backup : Remove the plain snapshot from the node",
    "homelab.k8s.etcd_backup : Fetch the encrypted snapshot",
    "homelab.k8s.etcd_backup : Write the checksum beside the copy (sha256sum -c format)",
    "homelab.k8s.etcd_backup : Remove the encrypted snapshot from the node",
    "homelab.k8s.etcd_backup : Describe the backup beside it",
    "homelab.k8s.etcd_backup : Remove backups beyond the newest 1",
    "homelab.k8s.etcd_backup : Write the backup metrics",
    "homelab.k8s.cis_drift : Write the run's summary (JSON)",
    "homelab.k8s.cis_drift : Write the run's summary (HTML)",
    "homelab.k8s.cis_drift : Make this run the one the next compares with",
    "homelab.k8s.monitoring : Write the metrics file atomically",
    "Write the summary",
    "Release the lock",
}


def changed_tasks(stdout):
    """Names of the tasks that reported a change."""
    names = set()
    for block in stdout.split("\nTASK [")[1:]:
        name, body = block.split("]", 1)
        if re.search(r"^changed: ", body, re.MULTILINE):
            names.add(name)
    return names


@pytest.fixture(scope="module")
def settings(cluster, age_identity, tmp_path_factory):
    base = tmp_path_factory.mktemp("maintenance")
    identity, public = age_identity
    values = {
        "maintenance_state_dir": str(base / "state"),
        "etcd_backup_age_recipients": [public],
        "etcd_backup_identity_file": str(identity),
        "etcd_backup_local_dir": str(base / "backups"),
        "etcd_backup_keep": 1,
        **VERIFY_TOOLS,
        "cis_drift_report_dir": str(base / "cis"),
        # The test hosts are containers with little hardening: the drift, not the score, is judged.
        "cis_drift_min_score": 0,
    }
    path = base / "vars.json"
    path.write_text(json.dumps(values))
    return base, path


def run(cluster, settings, *args):
    env = {**ENV, "ANSIBLE_STDOUT_CALLBACK": "default"}
    return ansible_playbook(PLAYBOOK, "-i", cluster.inventory, "-e", f"@{settings[1]}", *args, env=env)


def test_two_unattended_runs(cluster, settings):
    base = settings[0]
    started = time.monotonic()
    first = run(cluster, settings, "--tags", TAGS)
    first_took = time.monotonic() - started
    assert first.returncode == 0, first.stdout[-8000:] + first.stderr[-2000:]
    summary = json.loads((base / "state" / "summaries" / "latest.json").read_text())
    control_plane = summary["hosts"]["k8s-master-01"]
    assert control_plane["etcd_backup"]["verified"] is True
    assert control_plane["certificates"]["renewed"] == []
    assert set(summary["hosts"]["k8s-worker-02"]) == {"cis_drift"}
    assert not (base / "state" / "lock").exists()
    assert len(list((base / "cis").glob("2*/index.html"))) == 1

    started = time.monotonic()
    second = run(cluster, settings, "--tags", TAGS)
    second_took = time.monotonic() - started
    assert second.returncode == 0, second.stdout[-8000:] + second.stderr[-2000:]
    assert changed_tasks(second.stdout) <= SCHEDULED_CHANGES, changed_tasks(second.stdout) - SCHEDULED_CHANGES
    assert second.recap("k8s-worker-02")["changed"] <= 1  # the metrics file, rewritten with the new audit
    again = json.loads((base / "state" / "summaries" / "latest.json").read_text())
    assert again["run"] != summary["run"]
    assert again["hosts"]["k8s-master-01"]["etcd_backup"]["name"] != control_plane["etcd_backup"]["name"]
    assert len(list((base / "backups").glob("*.db.age"))) == 1  # etcd_backup_keep: 1
    assert len(list((base / "cis").glob("2*/summary.json"))) == 2
    print(f"\nmaintenance.yml --tags {TAGS}: first run {first_took:.0f} s, second {second_took:.0f} s")


def test_an_overlapping_run_is_refused_and_a_stale_lock_taken_over(cluster, settings):
    lock = settings[0] / "state" / "lock"
    lock.mkdir(parents=True)
    (lock / "owner.json").write_text(json.dumps({"started": "2026-01-01T03:00:00+00:00", "tags": ["etcd_backup"]}))
    refused = run(cluster, settings, "--tags", "certificates")
    assert refused.returncode != 0
    assert "maintenance: another run holds the lock" in refused.stdout
    assert "(2026-01-01T03:00:00+00:00, tags ['etcd_backup'])" in refused.stdout
    assert "Read kubeadm certs check-expiration" not in refused.stdout
    assert lock.exists()

    seven_hours_ago = time.time() - 7 * 3600
    os.utime(lock, (seven_hours_ago, seven_hours_ago))
    taken = run(cluster, settings, "--tags", "certificates")
    assert taken.returncode == 0, taken.stdout[-6000:]
    assert "Read kubeadm certs check-expiration" in taken.stdout
    assert not lock.exists()
