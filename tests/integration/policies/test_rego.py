"""The Rego of every ConstraintTemplate passes its `opa test` unit tests (tests/policies/rego), which cover
every line of it, and is formatted and strict-clean for the real opa built from its Go module."""

import json
import re
import subprocess

import pytest
import yaml
from policies_render import REGO_SOURCES, REGO_TESTS, REPO, tool

TEMPLATES = yaml.safe_load((REPO / "roles" / "policies" / "vars" / "main.yml").read_text())[
    "policies_gatekeeper_templates"
]
SOURCES = sorted(REGO_SOURCES.glob("*.rego"))


def opa(*args):
    return subprocess.run([tool("opa"), *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def results():
    done = opa("test", "--format", "json", str(REGO_SOURCES), str(REGO_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_every_template_has_its_rego_and_every_rego_a_template():
    assert sorted(p.stem for p in SOURCES) == sorted(t["kind"].lower() for t in TEMPLATES)


def test_each_rego_package_is_named_after_its_template():
    for path in SOURCES:
        assert re.search(rf"^package {path.stem}$", path.read_text(), re.MULTILINE), path


def test_every_rego_test_passes(results):
    failed = [r["name"] for r in results if r.get("fail") or r.get("error")]
    assert not failed
    assert len(results) >= 50


@pytest.mark.parametrize("template", [t["kind"].lower() for t in TEMPLATES])
def test_every_template_has_allowing_and_refusing_tests(results, template):
    names = [r["name"] for r in results if r["package"] == f"data.{template}_test" and not r.get("fail")]
    assert len(names) >= 3, names
    assert any("allowed" in n or "not_checked" in n or "overrides" in n for n in names), names
    assert any("refused" in n or "checked" in n or "reported" in n for n in names), names


def test_tests_cover_every_line_of_the_templates():
    done = opa("test", "--coverage", str(REGO_SOURCES), str(REGO_TESTS))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    uncovered = {
        name: data.get("not_covered")
        for name, data in report["files"].items()
        if name.startswith(str(REGO_SOURCES)) and data.get("not_covered")
    }
    assert not uncovered
    assert report["coverage"] == 100


def test_rego_is_formatted_and_strict():
    formatted = opa("fmt", "--list", "--fail", str(REGO_SOURCES), str(REGO_TESTS))
    assert formatted.returncode == 0, formatted.stdout
    strict = opa("check", "--strict", str(REGO_SOURCES), str(REGO_TESTS))
    assert strict.returncode == 0, strict.stdout + strict.stderr


def test_a_broken_rule_fails_its_tests(tmp_path):
    """The unit tests can fail: a registry check that only compares prefixes lets look-alike hosts through."""
    source = (REGO_SOURCES / "k8sharborimages.rego").read_text()
    broken = source.replace('concat("", [lower(trim_suffix(registry, "/")), "/"])', "lower(registry)")
    assert broken != source
    (tmp_path / "k8sharborimages.rego").write_text(broken)
    done = opa("test", "--format", "json", str(tmp_path), str(REGO_TESTS / "k8sharborimages_test.rego"))
    assert done.returncode != 0
    failed = {r["name"] for r in json.loads(done.stdout) if r.get("fail")}
    assert "test_host_that_only_starts_with_harbor_refused" in failed
