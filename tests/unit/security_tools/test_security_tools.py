"""The security_tools role as rendered on the controller: Falco rules validated for structure (Falco itself is C++
and eBPF and cannot run here), the chart values handed to the platform role, the Harbor webhook policy checked
against Harbor's own API spec, and secrets kept out of the output."""

import base64
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from playbook_runner import ansible_playbook

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SPEC = REPO / "tests" / "doubles" / "harbor" / "spec" / "harbor-api-v2.0-swagger.yaml"  # the repository's copy
ROBOT_SECRET = "robot-S3cret-from-vault"
HOOK_TOKEN = "hook-T0ken-9c1e"
VARS = {
    "security_tools_harbor_robot_name": "robot$trivy",
    "security_tools_harbor_robot_secret": ROBOT_SECRET,
    "security_tools_harbor_webhook_address": f"https://receiver.homelab.example/harbor/{HOOK_TOKEN}",
    "security_tools_falco_allowed_registries": ["registry.k8s.io"],
    "test_platform_values_overrides": {"falco": {"resources": {"limits": {"memory": "1Gi"}}}, "argo-cd": {"x": 1}},
}

# Fields of Falco's "Supported Fields for Conditions and Outputs" (falco --list=syscall and the container and k8s
# classes) that rules of this kind use.
FALCO_FIELDS = {
    "evt.type", "evt.dir", "evt.time", "evt.num", "evt.res", "evt.is_open_write", "evt.is_open_read", "evt.arg.flags",
    "proc.name", "proc.exepath", "proc.exe", "proc.cmdline", "proc.args", "proc.pname", "proc.pcmdline", "proc.pid",
    "proc.vpid", "proc.ppid", "proc.tty", "proc.cwd", "proc.aname", "proc.sid", "proc.is_exe_upper_layer",
    "user.name", "user.uid", "user.loginuid", "user.loginname", "group.gid", "group.name",
    "fd.num", "fd.type", "fd.typechar", "fd.name", "fd.directory", "fd.filename", "fd.sip", "fd.cip", "fd.sport",
    "fd.cport", "fd.rip", "fd.rport", "fd.lip", "fd.lport", "fd.l4proto", "fd.sip.name", "fd.snet",
    "container.id", "container.name", "container.image", "container.image.repository", "container.image.tag",
    "container.image.digest", "container.privileged",
    "k8s.ns.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.labels",
}  # fmt: skip
OPERATORS = {"and", "or", "not", "in", "intersects", "pmatch", "startswith", "endswith", "contains", "icontains",
             "glob", "exists", "host", "incomplete", "true", "false", "tcp", "udp", "<", ">"}  # fmt: skip
PRIORITIES = {"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFORMATIONAL", "DEBUG"}
RULES = [
    "Homelab shell in a platform container",
    "Homelab write below etc or kubelet directories on a node",
    "Homelab image from outside Harbor",
    "Homelab runner pod reaching the API server",
]


def render(dest, *args, **extra):
    return ansible_playbook(HERE / "render.yml", "-e", json.dumps({"security_tools_manifest_dir": str(dest), **extra}),
                            *args)  # fmt: skip


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    dest = tmp_path_factory.mktemp("security-tools") / "out"
    run = render(dest, **VARS)
    assert run.returncode == 0, run.output[-3000:]
    return dest, run


@pytest.fixture(scope="module")
def falco(rendered):
    items = yaml.safe_load((rendered[0] / "falco" / "homelab_rules.yaml").read_text())
    return {
        "lists": {i["list"]: i for i in items if "list" in i},
        "macros": {i["macro"]: i for i in items if "macro" in i},
        "rules": {i["rule"]: i for i in items if "rule" in i},
    }


def tokens(condition):
    """Identifiers of a Falco condition, quoted strings and numbers left out."""
    text = re.sub(r'"[^"]*"|\'[^\']*\'', " ", condition)
    return re.findall(r"[A-Za-z_][A-Za-z0-9_.\-/]*(?:\[[^\]]*\])?", text)


def check_condition(condition, falco):
    """Every identifier is a known field, an operator or a value word, a defined macro, or a defined list."""
    problems = []
    for token in tokens(condition):
        name = token.split("[")[0]
        if "." in name and not name.startswith("/"):
            if name not in FALCO_FIELDS:
                problems.append(f"unknown field {name}")
        elif name in OPERATORS or name in falco["macros"] or name in falco["lists"]:
            continue
        elif name.startswith("homelab_"):
            problems.append(f"undefined macro or list {name}")
        elif not re.fullmatch(r"(execve|execveat|open|openat|openat2|connect|container|f)", name):
            problems.append(f"unexpected word {name}")
    return problems


def test_the_four_rules_of_the_homelab(falco):
    assert sorted(falco["rules"]) == sorted(RULES)


@pytest.mark.parametrize("rule", RULES)
def test_rule(falco, rule):
    body = falco["rules"][rule]
    assert set(body) >= {"rule", "desc", "condition", "output", "priority"}
    assert body["priority"] in PRIORITIES
    assert body["desc"].strip() and body["output"].strip()
    assert "homelab" in body["tags"]
    assert check_condition(body["condition"], falco) == []
    fields = re.findall(r"%([a-z0-9_.]+(?:\[[^\]]*\])?)", body["output"])
    assert fields, "the output names what happened"
    assert {f.split("[")[0] for f in fields} - FALCO_FIELDS == set()


MACROS = [
    "homelab_spawned_process",
    "homelab_in_container",
    "homelab_open_write",
    "homelab_outbound_connect",
    "homelab_container_started",
    "homelab_image_from_harbor",
]


@pytest.mark.parametrize("macro", MACROS)
def test_macro(falco, macro):
    assert check_condition(falco["macros"][macro]["condition"], falco) == []


def test_every_list_and_macro_is_used(falco):
    text = " ".join(r["condition"] for r in falco["rules"].values())
    text += " " + " ".join(m["condition"] for m in falco["macros"].values())
    for name in list(falco["lists"]) + list(falco["macros"]):
        assert re.search(rf"\b{name}\b", text), name


def test_lists_are_the_data(falco):
    assert "infra-monitoring" in falco["lists"]["homelab_platform_namespaces"]["items"]
    assert falco["lists"]["homelab_api_server_ports"]["items"] == [443, 6443]
    harbor = falco["macros"]["homelab_image_from_harbor"]["condition"]
    assert 'startswith "harbor.homelab.internal/"' in harbor and 'startswith "registry.k8s.io/"' in harbor


def test_falco_values_with_falcosidekick_to_alertmanager_and_prometheus(rendered, falco):
    dest = rendered[0]
    values = yaml.safe_load((dest / "values" / "falco.yaml").read_text())
    assert values["driver"]["kind"] == "modern_ebpf"
    assert yaml.safe_load(values["customRules"]["homelab_rules.yaml"]) == yaml.safe_load(
        (dest / "falco" / "homelab_rules.yaml").read_text()
    )
    sidekick = values["falcosidekick"]
    assert sidekick["enabled"] is True
    assert sidekick["config"]["alertmanager"]["hostport"].endswith(":9093")
    assert sidekick["serviceMonitor"]["additionalLabels"]["release"] == "kube-prometheus-stack"
    assert values["falco"]["json_output"] is True


def test_trivy_values_scan_through_harbor(rendered):
    values = yaml.safe_load((rendered[0] / "values" / "trivy-operator.yaml").read_text())
    assert values["trivy"]["dbRegistry"] == "harbor.homelab.internal"
    assert values["operator"]["privateRegistryScanSecretsNames"] == {"security-monitoring": "trivy-harbor-pull"}
    assert values["serviceMonitor"]["enabled"] is True


def test_robot_credentials_in_a_pull_secret_only(rendered):
    dest, run = rendered
    (secret,) = yaml.safe_load_all((dest / "trivy-harbor-pull-secret.yaml").read_text())
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    auth = config["auths"]["harbor.homelab.internal"]
    assert base64.b64decode(auth["auth"]).decode() == f"robot$trivy:{ROBOT_SECRET}"
    assert (dest / "trivy-harbor-pull-secret.yaml").stat().st_mode & 0o777 == 0o600
    for secret_text in (ROBOT_SECRET, HOOK_TOKEN):
        assert secret_text not in run.output


def test_values_reach_platform_values_overrides_merged(rendered):
    dest = rendered[0]
    merged = json.loads((dest.parent / "platform_values_overrides.json").read_text())
    assert merged["falco"]["resources"] == {"limits": {"memory": "1Gi"}}  # what was there stays
    assert merged["falco"]["falcosidekick"]["enabled"] is True
    assert merged["argo-cd"] == {"x": 1}
    assert "trivy-operator" in merged


def test_harbor_webhook_policy_follows_harbor_api_spec(rendered):
    spec = yaml.safe_load(SPEC.read_text())
    policy = json.loads((rendered[0] / "harbor-webhook-policy.json").read_text())
    schema = {**spec["definitions"]["WebhookPolicy"], "definitions": spec["definitions"]}
    jsonschema.validate(policy, schema)
    assert set(policy) <= set(spec["definitions"]["WebhookPolicy"]["properties"])
    assert set(policy["targets"][0]) <= set(spec["definitions"]["WebhookTargetObject"]["properties"])
    assert policy["event_types"] == ["SCANNING_COMPLETED", "SCANNING_FAILED", "QUOTA_EXCEED", "QUOTA_WARNING"]
    enum = spec["definitions"]["EventType"].get("enum")
    if enum:
        assert set(policy["event_types"]) <= set(enum)


def test_second_render_changes_nothing(rendered):
    dest = rendered[0]
    again = render(dest, **VARS)
    assert again.returncode == 0, again.output[-3000:]
    assert again.recap("localhost")["changed"] == 0


def test_check_mode_writes_nothing(tmp_path):
    done = render(tmp_path / "out", "--check", **VARS)
    assert done.returncode == 0, done.output[-3000:]
    assert not (tmp_path / "out").exists()


def test_bad_settings_are_refused_before_anything_is_written(tmp_path):
    extra = {
        "security_tools_falco_lists": {"homelab_shell_binaries": ["sh"]},
        "security_tools_falco_allowed_registries": ["https://quay.io"],
        "security_tools_harbor_webhook_events": ["SCAN_DONE"],
        "security_tools_harbor_projects": ["apps"],
        "security_tools_harbor_webhook_address": "",
    }
    done = render(tmp_path / "out", **extra)
    assert done.returncode != 0
    for message in (
        "security_tools_falco_lists needs the lists homelab_platform_namespaces",
        "(got homelab_shell_binaries)",
        "got harbor.homelab.internal, https://quay.io",
        "(got SCAN_DONE)",
        "required when security_tools_harbor_projects is set",
    ):
        assert message in " ".join(done.output.split())
    assert not (tmp_path / "out").exists()


def test_robot_name_must_be_a_robot_account(tmp_path):
    done = render(
        tmp_path / "out", security_tools_harbor_robot_name="trivy", security_tools_harbor_robot_secret=ROBOT_SECRET
    )
    assert done.returncode != 0
    assert "security_tools_harbor_robot_name (got 'trivy') must be a Harbor robot account" in done.output
    assert ROBOT_SECRET not in done.output
    assert not (tmp_path / "out").exists()
