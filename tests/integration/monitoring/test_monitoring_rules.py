"""The alerting rules, the Alertmanager configuration and the dashboards, as the role renders them, judged by
Prometheus' own promtool and Alertmanager's amtool (built from their Go modules)."""

import json
import re
import shutil
import subprocess

import jsonschema
import yaml
from monitoring_render import HERE, SECRET_VARS, SMTP_PASSWORD, WEBHOOK_TOKEN, prometheusrule_crd, render, tool
from promql_names import metric_names

TESTS = HERE / "rules"
CIS_METRICS = {
    "homelab_cis_score_ratio",
    "homelab_cis_controls",
    "homelab_cis_control_failing",
    "homelab_cis_container",
}


def run(*argv, cwd=None):
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, cwd=cwd)


def rule_groups(rendered):
    dest = rendered[0]
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted((dest / "rules").glob("*.rules.yml"))}


def alerts(rendered):
    return [r for f in rule_groups(rendered).values() for g in f["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_check_rules(rendered):
    dest = rendered[0]
    files = sorted(str(p) for p in (dest / "rules").glob("*.rules.yml"))
    assert len(files) == 8
    done = run(tool("promtool"), "check", "rules", "--lint=all", "--lint-fatal", *files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(files)


def test_alerts_fire_on_bad_series_and_stay_silent_on_healthy_ones(rendered, tmp_path):
    dest = rendered[0]
    for rules in (dest / "rules").glob("*.rules.yml"):
        shutil.copy(rules, tmp_path / rules.name)
    tests = sorted(TESTS.glob("*.test.yml"))
    for test in tests:
        shutil.copy(test, tmp_path / test.name)
    done = run(tool("promtool"), "test", "rules", *(t.name for t in tests), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(tests)


def test_every_alert_has_a_firing_and_a_silent_case(rendered):
    names = [a["alert"] for a in alerts(rendered)]
    assert len(names) == len(set(names)), "alert names are unique"
    firing, silent = {}, {}
    for test in TESTS.glob("*.test.yml"):
        suite = yaml.safe_load(test.read_text())
        assert [f"{test.name.removesuffix('.test.yml')}.rules.yml"] == suite["rule_files"]
        for case in suite["tests"]:
            for check in case["alert_rule_test"]:
                target = firing if check["exp_alerts"] else silent
                target[check["alertname"]] = target.get(check["alertname"], 0) + 1
    assert set(firing) <= set(names) and set(silent) <= set(names), "tests name only real alerts"
    assert sorted(n for n in names if n not in firing) == [], "alerts no test makes fire"
    assert sorted(n for n in names if n not in silent) == [], "alerts no test proves silent"
    # the figures the documentation quotes
    assert len(names) == 27
    assert (sum(firing.values()), sum(silent.values())) == (27, 43)


def test_every_rule_group_has_a_test_file(rendered):
    groups = {name.removesuffix(".rules.yml") for name in rule_groups(rendered)}
    assert groups == {p.name.removesuffix(".test.yml") for p in TESTS.glob("*.test.yml")}


def test_rules_route_by_severity_and_area(rendered):
    for rule in alerts(rendered):
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["labels"]["area"], rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_prometheusrule_objects_carry_the_plain_groups(rendered):
    dest = rendered[0]
    objects = list(yaml.safe_load_all((dest / "prometheusrules.yaml").read_text()))
    plain = {g["name"]: g for f in rule_groups(rendered).values() for g in f["groups"]}
    assert {o["metadata"]["name"] for o in objects} == set(plain)
    for obj in objects:
        assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
        assert obj["metadata"]["namespace"] == "infra-monitoring"
        assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert obj["spec"]["groups"] == [plain[obj["metadata"]["name"]]]


def test_prometheusrule_objects_follow_the_operator_crd(rendered):
    dest = rendered[0]
    crd = prometheusrule_crd()
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    validator = jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])
    for obj in yaml.safe_load_all((dest / "prometheusrules.yaml").read_text()):
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(obj)]
        assert errors == [], obj["metadata"]["name"]


def test_values_for_the_platform_release(rendered):
    dest = rendered[0]
    merged = json.loads((dest.parent / "platform_values_overrides.json").read_text())
    assert merged["argocd"] == {"x": 1}
    stack = merged["kube-prometheus-stack"]
    assert stack["prometheus"] == {"prometheusSpec": {"retention": "30d"}}  # what was there stays
    assert stack["alertmanager"]["alertmanagerSpec"]["configSecret"] == "alertmanager-homelab"
    exporter = stack["prometheus-node-exporter"]
    assert exporter["extraArgs"] == ["--collector.textfile.directory=/host/textfile"]
    (mount,) = exporter["extraHostVolumeMounts"]
    assert mount["hostPath"] == "/var/lib/prometheus/node-exporter" and mount["readOnly"] is True
    assert mount["mountPath"] == "/host/textfile"
    sidecar = stack["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["label"], sidecar["labelValue"], sidecar["folderAnnotation"]) == (
        "grafana_dashboard",
        "1",
        "grafana_folder",
    )


def test_amtool_accepts_the_alertmanager_config(rendered):
    dest = rendered[0]
    done = run(tool("amtool"), "check-config", str(dest / "alertmanager.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
    assert " - 4 receivers" in done.stdout
    config = yaml.safe_load((dest / "alertmanager.yaml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["homelab-default"]["email_configs"][0]["to"] == "ops@homelab.example"
    security_hooks = [h["url"] for h in receivers["homelab-security"]["webhook_configs"]]
    assert security_hooks[-1] == SECRET_VARS["monitoring_alertmanager_security_webhook_url"]
    routes = {r["receiver"]: r for r in config["route"]["routes"]}
    assert routes["homelab-security"]["matchers"] == ['area=~"falco|trivy|cis|harbor"']
    assert routes["homelab-critical"]["matchers"] == ['severity="critical"']


def test_amtool_accepts_the_default_config(tmp_path):
    run_ = render(tmp_path / "out")
    assert run_.returncode == 0, run_.output[-3000:]
    done = run(tool("amtool"), "check-config", str(tmp_path / "out" / "alertmanager.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_secrets_reach_the_files_but_not_the_output(rendered):
    dest, run_ = rendered
    for secret in (SMTP_PASSWORD, WEBHOOK_TOKEN):
        assert secret not in run_.output
        assert secret in (dest / "alertmanager.yaml").read_text()
    for name in ("alertmanager.yaml", "alertmanager-secret.yaml"):
        assert (dest / name).stat().st_mode & 0o777 == 0o600
    secret = yaml.safe_load((dest / "alertmanager-secret.yaml").read_text())
    assert secret["kind"] == "Secret"
    assert yaml.safe_load(secret["stringData"]["alertmanager.yaml"]) == yaml.safe_load(
        (dest / "alertmanager.yaml").read_text()
    )


def test_second_render_changes_nothing(rendered):
    dest = rendered[0]
    again = render(dest, **SECRET_VARS)
    assert again.returncode == 0, again.output[-3000:]
    assert again.recap("localhost")["changed"] == 0, again.stdout[-3000:]


def test_check_mode_writes_nothing(tmp_path):
    done = render(tmp_path / "out", "--check", **SECRET_VARS)
    assert done.returncode == 0, done.output[-3000:]
    assert not (tmp_path / "out").exists()


def test_bad_thresholds_are_refused_before_anything_is_written(tmp_path):
    overrides = {
        "cis_score_min_ratio": 80,
        "cis_compare_window": "one day",
        "etcd_backup_max_age": 26,
    }
    done = render(tmp_path / "out", monitoring_thresholds_overrides=overrides)
    assert done.returncode != 0
    for message in (
        "cis_score_min_ratio=80: expected a number between 0 and 1",
        "cis_compare_window='one day': expected a Prometheus duration",
        "etcd_backup_max_age: unknown threshold",
    ):
        assert message in done.output
    assert not (tmp_path / "out").exists()


def test_email_without_smtp_server_is_refused(tmp_path):
    done = render(tmp_path / "out", monitoring_alertmanager_email_to=["ops@homelab.example"])
    assert done.returncode != 0
    assert "needs e-mail addresses and then monitoring_alertmanager_smtp_smarthost as host:port" in done.output
    assert not (tmp_path / "out").exists()


def test_thresholds_reach_the_rules(tmp_path):
    done = render(
        tmp_path / "out", monitoring_thresholds_overrides={"etcd_backup_max_age_hours": 8, "cis_compare_window": "7d"}
    )
    assert done.returncode == 0, done.output[-3000:]
    text = (tmp_path / "out" / "rules" / "homelab-backups.rules.yml").read_text()
    assert "> 8 * 3600" in text
    assert "offset 7d" in (tmp_path / "out" / "rules" / "homelab-cis.rules.yml").read_text()


def test_dashboards_refer_only_to_metrics_of_the_rules_and_exporters(rendered):
    dest = rendered[0]
    known = {"ALERTS"} | CIS_METRICS
    for rule in alerts(rendered):
        known |= metric_names(rule["expr"])
    dashboards = sorted((dest / "dashboards").glob("*.json"))
    assert [d.name for d in dashboards] == ["cis.json", "security.json"]
    for path in dashboards:
        board = json.loads(path.read_text())
        exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
        exprs += [v["definition"] for v in board["templating"]["list"] if v.get("definition")]
        assert exprs, path.name
        for expr in exprs:
            unknown = metric_names(re.sub(r"label_values\((.*), *\w+\)", r"\1", expr)) - known
            assert unknown == set(), f"{path.name}: {expr}"
    assert {"homelab_cis_score_ratio", "homelab_cis_control_failing"} <= metric_names(
        " ".join(
            t["expr"]
            for p in json.loads((dest / "dashboards" / "cis.json").read_text())["panels"]
            for t in p["targets"]
        )
    )


def test_dashboard_configmaps_for_the_grafana_sidecar(rendered):
    dest = rendered[0]
    maps = list(yaml.safe_load_all((dest / "dashboards.yaml").read_text()))
    assert [m["metadata"]["name"] for m in maps] == ["homelab-dashboard-cis", "homelab-dashboard-security"]
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, text),) = cm["data"].items()
        assert json.loads(text) == json.loads((dest / "dashboards" / name).read_text())


def test_metric_names_of_promql():
    expr = (
        'sum by (instance) (rate(apiserver_request_total{job="apiserver", code=~"5.."}[5m])) '
        "/ on (instance) group_left (x) up offset 1d and absent(homelab_cis_score_ratio) > bool 0.5"
    )
    assert metric_names(expr) == {"apiserver_request_total", "up", "homelab_cis_score_ratio"}
