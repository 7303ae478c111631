"""The etcd_backup role refuses bad metrics settings (etcd_backup_metrics_*) before it changes anything.

The role runs for real on this machine (connection local); its validation comes first, so a bad
value stops the play before the node's backup directory, the snapshot or the metrics directory are
touched. A good value passes the validation: the run is then limited to the validation (the
tasks tagged always).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
RECIPIENT = "age1" + "q" * 58
PLAYBOOK = """- name: Back up etcd
  hosts: localhost
  gather_facts: false
  roles:
    - role: homelab.k8s.etcd_backup
"""


def run(tmp_path, *args, **settings):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    values = {
        "etcd_backup_age_recipients": [RECIPIENT],
        "etcd_backup_local_dir": str(tmp_path / "backups"),
        "etcd_backup_verify_enabled": False,
        # Should the validation let a bad value through, the role still stays inside tmp_path:
        # no packages, a node directory of its own and an etcdctl that does nothing.
        "etcd_backup_packages_enabled": False,
        "etcd_backup_node_dir": str(tmp_path / "node"),
        "etcd_backup_etcdctl": "/bin/false",
        **settings,
    }
    (tmp_path / "vars.json").write_text(json.dumps(values))
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".cache" / "collections"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local"]
    argv += ["-e", f"@{tmp_path / 'vars.json'}", *args, str(tmp_path / "play.yml")]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"etcd_backup_metrics_dir": "var/lib/node-exporter"},
            "etcd_backup_metrics_dir must be an absolute path without whitespace or '..', node_exporter's textfile "
            'collector directory (got "var/lib/node-exporter")',
        ),
        ({"etcd_backup_metrics_dir": ""}, 'textfile collector directory (got "")'),
        ({"etcd_backup_metrics_dir": "/var/lib/node exporter"}, 'directory (got "/var/lib/node exporter")'),
        ({"etcd_backup_metrics_dir": "/var/lib/../../etc"}, 'directory (got "/var/lib/../../etc")'),
        (
            {"etcd_backup_metrics_dir": ["/var/lib/node-exporter"]},
            'textfile collector directory (got ["/var/lib/node-exporter"])',
        ),
        (
            {"etcd_backup_metrics_enabled": "sometimes"},
            "argument 'etcd_backup_metrics_enabled' is of type str and we were unable to convert to bool",
        ),
    ],
    ids=["relative", "empty", "whitespace", "parent", "list", "not-a-bool"],
)
def test_bad_metrics_settings_are_refused_before_any_change(tmp_path, settings, message):
    done = run(tmp_path, **settings)
    assert done.returncode != 0
    assert message in " ".join(done.stdout.split()), done.stdout[-3000:]
    assert "Create the node's backup directory" not in done.stdout
    assert not any(tmp_path.glob("node*")) and not (tmp_path / "backups").exists() and not (tmp_path / "var").exists()


def test_good_metrics_settings_pass_and_bad_ones_are_ignored_when_metrics_are_off(tmp_path):
    good = run(tmp_path, "--tags", "validation-only", etcd_backup_metrics_dir="/srv/node-exporter/textfile")
    assert good.returncode == 0, good.stdout[-3000:]
    assert "Check the metrics settings" in good.stdout
    off = run(tmp_path, "--tags", "validation-only", etcd_backup_metrics_enabled=False, etcd_backup_metrics_dir="x")
    assert off.returncode == 0, off.stdout[-3000:]
