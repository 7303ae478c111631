"""Bad settings of the Harbor robot refresh (secret_rotation) and of the Tailscale key check
(tailscale_keys) stop the play with a message naming the value, before Harbor, the cluster or
tailscale is asked anything. Runs the roles on localhost; nothing is reached."""

import json

import pytest
from playbook_runner import ansible_playbook, local_inventory

PLAY = """---
- name: One role with the settings under test
  hosts: all
  gather_facts: false
  roles:
    - role: {role}
"""


def run(tmp_path, role, settings):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(role=role))
    inventory = local_inventory(tmp_path / "inventory.json", "k8s_control_plane", "k8s-master-01")
    return ansible_playbook(play, "-i", inventory, "-e", json.dumps(settings))


ROBOTS = {"secret_rotation_encryption_key_enabled": False}
CONSUMER = {"kind": "Deployment", "name": "runner", "namespace": "cicd-runners"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"secret_rotation_harbor_robots_max_age_days": 0}, "must be a positive number of days (got 0)"),
        ({"secret_rotation_harbor_robots_expiry_warning_days": -1}, "zero or more days (got -1)"),
        (
            {"secret_rotation_harbor_robots_force": "often"},
            ("argument 'secret_rotation_harbor_robots_force' is of type str and we were unable to convert to bool"),
        ),
        (
            {"secret_rotation_harbor_robots_consumers": [{"kind": "Deployment", "name": "runner"}]},
            'needs kind, name and namespace (got [{"kind": "Deployment", "name": "runner"}])',
        ),
    ],
    ids=["max-age-zero", "negative-warning", "force-not-a-bool", "consumer-without-namespace"],
)
def test_bad_harbor_robot_refresh_settings_stop_before_harbor_is_asked(tmp_path, settings, message):
    done = run(
        tmp_path,
        "homelab.k8s.secret_rotation",
        {**ROBOTS, "secret_rotation_harbor_robots_consumers": [CONSUMER], **settings},
    )
    assert done.returncode != 0
    assert message in " ".join(done.stdout.split()), done.stdout[-3000:]
    assert "Validate the Harbor settings" not in done.stdout and "Read the robot accounts" not in done.stdout


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tailscale_keys_warning_days": -1}, "tailscale_keys_warning_days must be zero or more days (got -1)"),
        (
            {"tailscale_keys_metrics_dir": "var/lib/node-exporter"},
            "tailscale_keys_metrics_dir must be an absolute path without whitespace or '..', node_exporter's textfile "
            'collector directory (got "var/lib/node-exporter")',
        ),
        ({"tailscale_keys_metrics_dir": "/var/lib/../../etc"}, 'directory (got "/var/lib/../../etc")'),
        ({"tailscale_keys_metrics_dir": "/var/lib/node exporter"}, 'directory (got "/var/lib/node exporter")'),
    ],
    ids=["negative-warning", "relative-metrics-dir", "parent-metrics-dir", "whitespace-metrics-dir"],
)
def test_bad_tailscale_key_settings_stop_before_tailscale_is_read(tmp_path, settings, message):
    done = run(tmp_path, "homelab.k8s.tailscale_keys", settings)
    assert done.returncode != 0
    assert message in " ".join(done.stdout.split()), done.stdout[-3000:]
    assert "Read the Tailscale status" not in done.stdout


def test_a_relative_metrics_dir_is_ignored_when_the_metric_is_off(tmp_path):
    settings = {
        "tailscale_keys_metrics_enabled": False,
        "tailscale_keys_metrics_dir": "x",
        "tailscale_keys_binary": "/bin/false",
    }
    done = run(tmp_path, "homelab.k8s.tailscale_keys", settings)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Check the metrics directory" in done.stdout and "Read the Tailscale status" in done.stdout
