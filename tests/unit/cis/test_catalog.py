"""The shipped benchmark data is valid and selection by benchmark, level, id and tag behaves."""

import pytest
from ansible_collections.homelab.k8s.plugins.module_utils.cis import catalog
from ansible_collections.homelab.k8s.plugins.module_utils.cis.compare import OPS
from ansible_collections.homelab.k8s.plugins.module_utils.cis.engine import AUDIT_TYPES, BENCHMARKS, audit_type


def test_catalog_size_and_shape(controls):
    automated = [c for c in controls if c.get("automated", True)]
    assert len(automated) >= 120
    assert {c["benchmark"] for c in controls} == set(BENCHMARKS)
    for benchmark in BENCHMARKS:
        ids = [c["id"] for c in controls if c["benchmark"] == benchmark]
        assert len(ids) == len(set(ids)), benchmark
    assert all(c["remediation"].strip() and c["title"] and c["tags"] for c in controls)


def test_every_audit_type_and_op_is_used(controls):
    used_types = {audit_type(c["audit"]) for c in controls if "audit" in c}
    used_ops = {item["op"] for c in controls for item in c.get("tests", []) if "op" in item}
    assert used_types == set(AUDIT_TYPES)
    assert used_ops == set(OPS)


def test_kubernetes_ids_follow_cis(controls):
    ids = {c["id"] for c in controls if c["benchmark"] == "kubernetes_control_plane"}
    assert {"1.1.1", "1.1.21", "1.2.1", "1.2.29", "1.3.7", "1.4.2", "2.1", "2.7"} <= ids
    node = {c["id"] for c in controls if c["benchmark"] == "kubernetes_node"}
    assert {"4.1.1", "4.1.10", "4.2.1", "4.2.13", "4.3.1"} <= node


def test_select_by_benchmark_and_level(controls):
    level1 = catalog.select(controls, ["debian_linux"], level=1)
    assert level1 and all(c["benchmark"] == "debian_linux" and c.get("level", 1) == 1 for c in level1)
    assert len(catalog.select(controls, ["debian_linux"], level=2)) > len(level1)
    assert len(catalog.select(controls)) == len(controls)


def test_include_by_id_tag_and_qualified_id(controls):
    assert [c["id"] for c in catalog.select(controls, include=["5.1.20"])] == ["5.1.20"]
    assert {c["id"] for c in catalog.select(controls, include=["ssh"])} >= {"5.1.1", "5.1.22"}
    shared = catalog.select(controls, include=["4.1.1"])
    assert {c["benchmark"] for c in shared} == {"debian_linux", "kubernetes_node"}
    (only,) = catalog.select(controls, include=["kubernetes_node:4.1.1"])
    assert only["benchmark"] == "kubernetes_node"


def test_skip_sets_reasons(controls):
    chosen = catalog.select(controls, ["debian_linux"], skip={"3.3.1": "nodes route pods", "kmod": ""})
    reasons = {c["id"]: c.get("skip_reason") for c in chosen}
    assert reasons["3.3.1"] == "skipped: nodes route pods"
    assert reasons["1.1.1.1"] == "skipped: by the skip option"
    assert reasons["5.1.20"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"benchmarks": ["debian"]}, "unknown benchmark\\(s\\) debian, expected some of debian_linux"),
        ({"include": ["9.9.9"]}, "unknown control id\\(s\\) or tag\\(s\\) 9.9.9"),
        ({"skip": {"no-such-tag": ""}}, "no-such-tag"),
        ({"skip": {"kubernetes_node:5.1.20": ""}}, "kubernetes_node:5.1.20"),
    ],
)
def test_bad_selection_names_the_value(controls, kwargs, message):
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.select(controls, **kwargs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("section: s\ncontrols:\n  - {id: '1', title: t}\n", "missing \\['remediation'\\]"),
        ("section: s\ncontrols:\n  - {id: '1', title: t, remediation: r, colour: red}\n", "unknown \\['colour'\\]"),
        ("section: s\ncontrols:\n  - {id: '1', title: t, remediation: r, level: 3}\n", "level must be 1 or 2"),
        ("section: s\ncontrols:\n  - {id: '1', title: t, remediation: r}\n", "needs audit and tests"),
        (
            "section: s\ncontrols:\n  - {id: '1', title: t, remediation: r, audit: {grep: x}, tests: [{key: a}]}\n",
            "exactly one of",
        ),
        (
            "section: s\ncontrols:\n  - {id: '1', title: t, remediation: r, audit: {file: x},"
            " tests: [{key: a, op: like}]}\n",
            "needs a key and an op",
        ),
        (
            "section: s\ncontrols:\n  - {id: '1', title: t, remediation: r, automated: false}\n"
            "  - {id: '1', title: t, remediation: r, automated: false}\n",
            "duplicate control id 1",
        ),
    ],
)
def test_invalid_data_is_refused(tmp_path, text, message):
    (tmp_path / "debian_linux").mkdir()
    (tmp_path / "debian_linux" / "01.yml").write_text(text)
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.load(str(tmp_path))
