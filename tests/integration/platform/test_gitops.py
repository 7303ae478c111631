"""The GitOps hand-over: the policies role's render (namespaces, quotas, limits, NetworkPolicies,
RBAC, Gatekeeper objects) and the platform role's (an Argo CD Application per release, the
platform's namespaces) in one tree, built with kustomize (kubectl's, built from its Go module).
Core objects go to the real API server as a server-side dry run; Gatekeeper ConstraintTemplates
are checked against Gatekeeper's CRD schema (generated from its Go API types by scripts/crds.sh), Constraints
against their template's parameter schema. Argo CD's Application CRD, generated from Argo CD's Go API
types the same way, checks the Applications: against its schema here, and installed in the real API
server, which takes them in the same server-side dry run."""

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from playbook_runner import ansible_playbook, local_inventory
from test_platform_releases import delete_namespaces

REPO = Path(__file__).resolve().parents[3]
KUBECTL = REPO / ".cache" / "bin" / "kubectl"
DEFAULTS = yaml.safe_load((REPO / "roles" / "platform" / "defaults" / "main.yml").read_text())
RELEASES = [r["name"] for r in DEFAULTS["platform_releases"]]
SECRET = "harbor-database-in-the-vault"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("gitops")
    inventory = local_inventory(base / "inventory.json", "k8s_control_plane", "k8s-master-01")
    policies = ansible_playbook(
        REPO / "playbooks" / "policies.yml",
        "-i",
        inventory,
        "-e",
        json.dumps({"policies_manifest_dir": str(base / "tree" / "policies"), "policies_apply_enabled": False}),
    )
    assert policies.returncode == 0, policies.stdout[-3000:]
    platform = ansible_playbook(
        REPO / "playbooks" / "platform.yml",
        "-i",
        inventory,
        "-e",
        json.dumps(
            {
                "platform_lab": True,
                "platform_gitops_dir": str(base / "tree"),
                "platform_gitops_include": ["policies"],
                "platform_harbor_database_password": SECRET,
            }
        ),
    )
    assert platform.returncode == 0, platform.stdout[-3000:]
    built = subprocess.run([str(KUBECTL), "kustomize", str(base / "tree")], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    return {"dir": base / "tree", "yaml": built.stdout, "objects": [o for o in yaml.safe_load_all(built.stdout) if o]}


def test_every_release_is_an_application_in_order(tree):
    applications = [o for o in tree["objects"] if o["kind"] == "Application"]
    by_name = {a["metadata"]["name"]: a for a in applications}
    assert set(by_name) == set(RELEASES)
    for wave, release in enumerate(DEFAULTS["platform_releases"]):
        app = by_name[release["name"]]
        assert app["apiVersion"] == "argoproj.io/v1alpha1"
        assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == str(wave)
        spec = app["spec"]
        assert spec["project"] == "default"
        assert spec["source"]["chart"] == release["chart"]
        assert spec["source"]["targetRevision"] == release["version"]
        assert spec["source"]["repoURL"]
        assert spec["source"]["helm"]["releaseName"] == release["name"]
        assert spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": release["namespace"]}
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert by_name["ingress-nginx"]["spec"]["source"]["helm"]["valuesObject"]["controller"]["nodeSelector"] == {
        "homelab.k8s/role": "general"
    }


def test_no_secret_goes_into_git(tree):
    assert SECRET not in tree["yaml"]
    harbor = next(o for o in tree["objects"] if o["kind"] == "Application" and o["metadata"]["name"] == "harbor")
    assert "password" not in harbor["spec"]["source"]["helm"]["valuesObject"]["database"]["internal"]


def gatekeeper_crd():
    """Gatekeeper's ConstraintTemplate CRD, generated from its Go API types (scripts/crds.sh)."""
    path = REPO / ".cache/crds/templates.gatekeeper.sh/templates.gatekeeper.sh_constrainttemplates.yaml"
    return yaml.safe_load(path.read_text())


def test_gatekeeper_objects_match_their_schemas(tree):
    crd = gatekeeper_crd()
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
    templates = {}
    for obj in tree["objects"]:
        if obj["kind"] == "ConstraintTemplate":
            jsonschema.Draft7Validator(schema).validate(obj)
            templates[obj["spec"]["crd"]["spec"]["names"]["kind"]] = obj
    assert templates
    constraints = [o for o in tree["objects"] if o["apiVersion"] == "constraints.gatekeeper.sh/v1beta1"]
    assert constraints
    for constraint in constraints:
        template = templates[constraint["kind"]]
        parameters = template["spec"]["crd"]["spec"].get("validation", {}).get("openAPIV3Schema", {})
        jsonschema.Draft7Validator(parameters).validate(constraint["spec"].get("parameters", {}))


def application_crd():
    """Argo CD's Application CRD, generated from its Go API types (scripts/crds.sh)."""
    return yaml.safe_load((REPO / ".cache/crds/argoproj.io/argoproj.io_applications.yaml").read_text())


def test_applications_match_argo_cds_schema(tree):
    crd = application_crd()
    assert crd["spec"]["names"]["kind"] == "Application"
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")["schema"]["openAPIV3Schema"]
    applications = [o for o in tree["objects"] if o["kind"] == "Application"]
    assert len(applications) == len(RELEASES)
    for application in applications:
        jsonschema.Draft7Validator(schema).validate(application)
    broken = {**applications[0], "spec": {**applications[0]["spec"], "destination": {"server": 443}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


def test_core_objects_and_applications_pass_a_server_side_dry_run(tree, cluster):
    core = [
        o
        for o in tree["objects"]
        if not o["apiVersion"].endswith("gatekeeper.sh/v1beta1")
        and not o["apiVersion"].startswith("templates.gatekeeper.sh")
    ]
    assert {o["kind"] for o in core} >= {
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "Role",
        "Application",
    }
    # A dry run creates no namespace and no CRD, so the tree's namespaces and Argo CD's Application
    # CRD are created for real first (and what did not exist is removed again); then every object
    # goes as a server-side dry run.
    from kubernetes import client

    api = client.CoreV1Api(cluster.api())
    extensions = client.ApiextensionsV1Api(cluster.api())
    before = {n.metadata.name for n in api.list_namespace().items}
    crd = application_crd()
    crd_was_there = crd["metadata"]["name"] in {
        c.metadata.name for c in extensions.list_custom_resource_definition().items
    }
    namespaces = [o for o in core if o["kind"] == "Namespace"]
    try:
        for objects, dry_run in (([crd, *namespaces], []), (core, ["--dry-run=server"])):
            if dry_run:
                kubectl(
                    cluster, "wait", "--for=condition=Established", "--timeout=60s", "crd/" + crd["metadata"]["name"]
                )
            done = subprocess.run(
                [
                    str(KUBECTL),
                    "--kubeconfig",
                    str(cluster.kubeconfig),
                    "apply",
                    "--server-side",
                    *dry_run,
                    "--field-manager",
                    "gitops-check",
                    "-f",
                    "-",
                ],
                input=yaml.safe_dump_all(objects),
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-3000:]
    finally:
        if not crd_was_there:
            extensions.delete_custom_resource_definition(crd["metadata"]["name"])
        delete_namespaces(api, [n["metadata"]["name"] for n in namespaces if n["metadata"]["name"] not in before])


def kubectl(cluster, *args):
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(cluster.kubeconfig), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
