"""Rendering the monitoring role on the controller, and the tools that judge what it writes."""

import json
import os
from pathlib import Path

import pytest
from playbook_runner import ansible_playbook

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
BIN = REPO / ".cache" / "bin"
PLAYBOOK = HERE / "render.yml"

# Receivers with secrets, as a vault would give them; none of these may reach the output.
SMTP_PASSWORD = "smtp-Pa55word-from-vault"
WEBHOOK_TOKEN = "hook-token-4f2c9a"
# Values another role already handed to the platform releases: the role's own merge in keeps them.
EXISTING_VALUES = {
    "kube-prometheus-stack": {"prometheus": {"prometheusSpec": {"retention": "30d"}}},
    "argocd": {"x": 1},
}
SECRET_VARS = {
    "monitoring_alertmanager_email_to": ["ops@homelab.example"],
    "monitoring_alertmanager_smtp_smarthost": "mail.homelab.example:587",
    "monitoring_alertmanager_smtp_from": "alertmanager@homelab.example",
    "monitoring_alertmanager_smtp_auth_username": "alertmanager",
    "monitoring_alertmanager_smtp_auth_password": SMTP_PASSWORD,
    "monitoring_alertmanager_webhook_url": f"https://hooks.homelab.example/alert/{WEBHOOK_TOKEN}",
    "monitoring_alertmanager_security_webhook_url": "http://security-receiver.monitoring.svc:8080/alerts",
    "test_platform_values_overrides": EXISTING_VALUES,
}


def tool(name):
    """Path of a component binary that scripts/components.sh builds; the test fails without it."""
    path = BIN / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build it with `scripts/components.sh {name}` (make setup does)")
    return str(path)


def render(dest, *args, **extra_vars):
    """Run the role (no cluster) writing to `dest`; extra vars go in as JSON."""
    extra = {"monitoring_manifest_dir": str(dest), **extra_vars}
    return ansible_playbook(PLAYBOOK, "-e", json.dumps(extra), *args)


# The Prometheus operator's PrometheusRule CRD, generated from its Go API types by scripts/crds.sh (`make setup`).
PROMETHEUSRULE_CRD = REPO / ".cache/crds/monitoring.coreos.com/monitoring.coreos.com_prometheusrules.yaml"


def prometheusrule_crd():
    """The PrometheusRule CustomResourceDefinition (scripts/crds.sh)."""
    import yaml

    if not PROMETHEUSRULE_CRD.exists():
        pytest.fail(f"{PROMETHEUSRULE_CRD} is missing: run `make setup` (scripts/crds.sh)")
    return yaml.safe_load(PROMETHEUSRULE_CRD.read_text())
