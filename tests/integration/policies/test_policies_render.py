"""The policies role's render mode: every object valid (built-in kinds with kubernetes-validate strict,
Gatekeeper objects against their own schemas, each Constraint's parameters against its template's
openAPIV3Schema), the counts, the security properties by name, and a render that is idempotent, changes
nothing in check mode, and removes the files of objects no longer described."""

import json
import re
import shutil
import subprocess

import jsonschema
import kubernetes_validate
import pytest
import yaml
from policies_render import INVENTORY, REPO, SCHEMAS, Rendered, load, render, tool

pytestmark = pytest.mark.slow

KUBERNETES_VERSION = ".".join(
    re.search(r"^kubernetes_version:\s*\"?([0-9.]+)", (REPO / "roles/kubernetes/defaults/main.yml").read_text(), re.M)
    .group(1)
    .split(".")[:2]
)
GATEKEEPER = json.loads((SCHEMAS / "gatekeeper.json").read_text())
MANAGED = [
    "cicd-runners",
    "cicd-registry",
    "security-monitoring",
    "infra-monitoring",
    "ingress-nginx",
    "gatekeeper-system",
]


def gatekeeper_validator(definition):
    schema = {"$defs": GATEKEEPER["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema)


def builtin(rendered):
    return [
        o
        for o in rendered.objects
        if not o["apiVersion"].endswith("gatekeeper.sh/v1") and "gatekeeper.sh/" not in o["apiVersion"]
    ]


def test_every_builtin_object_is_valid_in_strict_mode(rendered):
    objects = builtin(rendered)
    assert {o["kind"] for o in objects} == {
        "Namespace",
        "ServiceAccount",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
    }
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_strict_validation_can_fail():
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"podSelector": {}, "policyType": ["Ingress"]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(policy, KUBERNETES_VERSION, strict=True)


def test_gatekeeper_kinds_have_no_bundled_schema_so_they_are_routed_to_their_own(rendered):
    for obj in (rendered.templates[0], rendered.constraints[0]):
        with pytest.raises(kubernetes_validate.SchemaNotFoundError):
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_every_constraint_template_matches_its_schema(rendered):
    validator = gatekeeper_validator("ConstraintTemplate")
    for template in rendered.templates:
        validator.validate(template)
        assert template["metadata"]["name"] == template["spec"]["crd"]["spec"]["names"]["kind"].lower()
        (code,) = template["spec"]["targets"][0]["code"]
        source = (REPO / "roles/policies/files/gatekeeper" / f"{template['metadata']['name']}.rego").read_text()
        assert code == {"engine": "Rego", "source": {"version": "v1", "rego": source.expandtabs(4).rstrip("\n")}}
        parameters = template["spec"]["crd"]["spec"].get("validation", {}).get("openAPIV3Schema")
        if parameters:
            jsonschema.Draft7Validator.check_schema(parameters)


def template_of(rendered, constraint):
    (template,) = [t for t in rendered.templates if t["spec"]["crd"]["spec"]["names"]["kind"] == constraint["kind"]]
    return template


def check_constraint(rendered, constraint):
    gatekeeper_validator("Constraint").validate(constraint)
    schema = template_of(rendered, constraint)["spec"]["crd"]["spec"].get("validation", {}).get("openAPIV3Schema")
    if schema is None:
        assert "parameters" not in constraint["spec"], constraint["metadata"]["name"]
    else:
        jsonschema.Draft7Validator(schema).validate(constraint["spec"].get("parameters", {}))


def test_every_constraint_matches_its_schema_and_its_template_parameters(rendered):
    for constraint in rendered.constraints:
        check_constraint(rendered, constraint)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["spec"].update(parameters={"registries": "harbor.example"}), "registries"),
        (lambda c: c["spec"].update(parameters={"registries": []}), "registries"),
        (lambda c: c["spec"].update(parameters={}), "registries"),
        (lambda c: c["spec"].update(enforcementAction="block"), "enforcementAction"),
        (lambda c: c["spec"]["match"].update(namespace=["x"]), "namespace"),
    ],
    ids=["registries-not-a-list", "no-registry", "parameters-missing", "bad-enforcement-action", "misspelt-match"],
)
def test_a_bad_constraint_is_refused_by_the_schemas(rendered, change, field):
    constraint = json.loads(
        json.dumps(next(c for c in rendered.constraints if c["metadata"]["name"] == "harbor-images"))
    )
    change(constraint)
    with pytest.raises(jsonschema.ValidationError, match=field):
        check_constraint(rendered, constraint)


def test_counts(rendered):
    assert len(rendered.templates) == 11
    assert len(rendered.constraints) == 11
    assert sorted(o["metadata"]["name"] for o in rendered.of_kind("Namespace")) == sorted(MANAGED)
    policies = rendered.of_kind("NetworkPolicy")
    assert len(policies) == len({(p["metadata"]["namespace"], p["metadata"]["name"]) for p in policies}) == 41
    assert len(rendered.objects) == 102  # docs/policies.md


def test_every_namespace_denies_by_default_and_has_quota_and_limits(rendered):
    for namespace in MANAGED:
        deny = rendered.get("NetworkPolicy", "default-deny", namespace)["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        assert rendered.get("ResourceQuota", "quota", namespace)["spec"]["hard"]["limits.memory"]
        assert rendered.get("LimitRange", "limits", namespace)["spec"]["limits"][0]["type"] == "Container"
        assert rendered.get("ServiceAccount", "default", namespace)["automountServiceAccountToken"] is False


def test_pod_security_is_restricted_unless_a_reason_is_given(rendered):
    levels = {}
    for namespace in rendered.of_kind("Namespace"):
        labels, name = namespace["metadata"]["labels"], namespace["metadata"]["name"]
        levels[name] = labels["pod-security.kubernetes.io/enforce"]
        assert labels["pod-security.kubernetes.io/audit"] == "restricted"
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"
        assert labels["owner"]
        if levels[name] != "restricted":
            assert namespace["metadata"]["annotations"]["homelab.k8s/pod-security-reason"]
    assert levels == {
        "cicd-runners": "baseline",
        "cicd-registry": "baseline",
        "security-monitoring": "privileged",
        "infra-monitoring": "privileged",
        "ingress-nginx": "restricted",
        "gatekeeper-system": "restricted",
    }


def test_rbac_is_namespaced_and_without_wildcards(rendered):
    assert not rendered.of_kind("ClusterRole") and not rendered.of_kind("ClusterRoleBinding")
    for role in rendered.of_kind("Role"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert not any("*" in value for value in rule[field]), (role["metadata"], rule)
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
    runner = rendered.get("Role", "runner", "cicd-runners")
    assert not any(
        "secrets" in rule["resources"] for r in rendered.of_kind("Role") if r is not runner for rule in r["rules"]
    )
    tokens = [sa for sa in rendered.of_kind("ServiceAccount") if sa["automountServiceAccountToken"]]
    assert [(sa["metadata"]["namespace"], sa["metadata"]["name"]) for sa in tokens] == [("cicd-runners", "runner")]
    assert tokens[0]["metadata"]["annotations"]["homelab.k8s/reason"]


def test_constraints_exempt_only_with_reasons(rendered):
    actions = {}
    for constraint in rendered.constraints:
        match, annotations = constraint["spec"]["match"], constraint["metadata"].get("annotations", {})
        actions[constraint["metadata"]["name"]] = constraint["spec"]["enforcementAction"]
        for namespace in match.get("excludedNamespaces", []):
            assert annotations[f"exempt.homelab.k8s/{namespace}"], (constraint["metadata"]["name"], namespace)
        assert annotations["argocd.argoproj.io/sync-options"] == "SkipDryRunOnMissingResource=true"
        assert annotations["argocd.argoproj.io/sync-wave"] == "1"
        if "namespaces" in match:
            assert set(match["namespaces"]) <= {"cicd-runners", "ingress-nginx", "gatekeeper-system"}
    assert actions["read-only-root-filesystem"] == "dryrun"
    scopes = {c["metadata"]["name"]: c["spec"]["match"].get("namespaces") for c in rendered.constraints}
    # cicd-runners is baseline for BuildKit only: its pods still run as non-root users, so that constraint keeps it
    assert "cicd-runners" in scopes["run-as-non-root"] and "cicd-runners" not in scopes["read-only-root-filesystem"]
    non_root = next(c for c in rendered.constraints if c["metadata"]["name"] == "run-as-non-root")
    assert non_root["metadata"]["annotations"]["include.homelab.k8s/cicd-runners"]
    assert {a for n, a in actions.items() if n != "read-only-root-filesystem"} == {"deny"}
    harbor = next(c for c in rendered.constraints if c["metadata"]["name"] == "harbor-images")
    assert harbor["spec"]["parameters"] == {"registries": ["harbor.homelab-production.internal"]}


def test_kustomization_builds_every_object(rendered):
    kustomization = load(rendered.root / "kustomization.yaml")[0]
    assert sorted(kustomization["resources"]) == sorted(f for f in rendered.files if f != "kustomization.yaml")
    built = subprocess.run(
        [tool("kubectl"), "kustomize", str(rendered.root)], capture_output=True, text=True, check=True
    )
    assert len([d for d in yaml.safe_load_all(built.stdout) if d]) == len(rendered.objects)


def recap(run):
    counts = run.recap("k8s-master-01")
    assert counts is not None and counts["failed"] == 0, run.output
    return counts


def test_render_is_idempotent_prunes_and_changes_nothing_in_check_mode(rendered, tmp_path):
    root = tmp_path / "gitops"
    shutil.copytree(rendered.root, root)
    before = {f: (root / f).read_text() for f in rendered.files}
    assert recap(render(root))["changed"] == 0

    stale = root / "gatekeeper" / "constraints" / "removed-constraint.yaml"
    stale.write_text("---\n")
    (root / "rbac.yaml").write_text("# edited by hand\n")
    checked = render(root, "--check", "--diff")
    assert recap(checked)["changed"] == 2
    assert stale.exists() and (root / "rbac.yaml").read_text() == "# edited by hand\n"

    assert recap(render(root))["changed"] == 2
    assert not stale.exists()
    assert {f: (root / f).read_text() for f in Rendered(root, None).files} == before


def test_check_mode_writes_nothing(tmp_path):
    run = render(tmp_path / "gitops", "--check")
    assert recap(run)["changed"] > 0
    assert not (tmp_path / "gitops").exists()


def test_areas_can_be_turned_off(tmp_path):
    run = render(tmp_path, policies_gatekeeper_enabled=False, policies_rbac_enabled=False)
    recap(run)
    tree = Rendered(tmp_path, run)
    assert sorted(tree.files) == ["kustomization.yaml", "namespaces.yaml", "network-policies.yaml"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"policies_flows": [{"name": "typo", "from": "cicd-runners", "to": "cicd-registry", "ports": ["htps"]}]},
            "flow 'typo': port 'htps' is not defined in namespace cicd-registry (known: http, https, metrics)",
        ),
        (
            {
                "policies_roles": [
                    {
                        "name": "all",
                        "namespace": "cicd-runners",
                        "rules": [{"resources": ["pods"], "verbs": ["*"]}],
                        "subjects": [{"name": "x"}],
                    }
                ]
            },
            "rbac_objects: role 'all' rule 0: wildcard verbs ['*']",
        ),
    ],
    ids=["unknown-port", "wildcard-verb"],
)
def test_bad_data_fails_before_anything_is_written(tmp_path, extra, message):
    run = render(tmp_path / "gitops", **extra)
    assert run.returncode != 0
    assert message in run.output
    assert not (tmp_path / "gitops").exists()


def test_staging_lab_compiles_with_its_harbor_and_reports_the_apply_skipped(tmp_path):
    run = render(
        tmp_path / "gitops", inventory=INVENTORY.parent / "staging", homelab_lab=True, policies_apply_enabled=True
    )
    recap(run)
    assert re.search(r"lab-skip: policies: no cluster runs in the lab; \d+ objects were compiled", run.stdout)
    harbor = yaml.safe_load((tmp_path / "gitops" / "gatekeeper" / "constraints" / "harbor-images.yaml").read_text())
    assert harbor["spec"]["parameters"]["registries"] == ["harbor.homelab-staging.internal"]
