"""The built-in YAML reader agrees with PyYAML on what Kubernetes writes, and refuses what it cannot read."""

from pathlib import Path

import pytest
import yaml
from ansible_collections.homelab.k8s.plugins.module_utils.cis import miniyaml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cis"
MANIFESTS = sorted(FIXTURES.glob("good/etc/kubernetes/**/*.yaml")) + sorted(FIXTURES.glob("*/var/lib/kubelet/*.yaml"))

DOC = """\
# comment
---
apiVersion: v1   # trailing comment
kind: Pod
metadata:
  annotations:
    endpoint: 10.0.0.1:6443
  creationTimestamp: null
  labels: {component: kube-apiserver, tier: control-plane}
spec:
  containers:
  - command:
    - kube-apiserver
    - "--authorization-mode=Node,RBAC"
    - '--quoted=it''s'
    - --hash=a#b
    livenessProbe:
      httpGet: {host: 10.0.0.1, port: 6443}
    ports: []
  hostNetwork: true
  priority: 2000001000
  ratio: 0.5
  text: |
    line1
      line2
  folded: >-
    a
    b
  escaped: "tab\\tnew\\nline"
status: {}
---
second: document
"""


def test_parses_like_pyyaml():
    assert miniyaml.parse(DOC) == yaml.safe_load(DOC.split("---\nsecond", maxsplit=1)[0])


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_manifests_parse_like_pyyaml(path):
    text = path.read_text()
    assert miniyaml.parse(text) == yaml.safe_load(text)


def test_sequence_indented_under_key_and_nested_items():
    text = "a:\n  - b: 1\n    c:\n      - x\n  -\n    - y\n"
    assert miniyaml.parse(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_document(text):
    assert miniyaml.parse(text) is None


def test_scalar_document():
    assert miniyaml.parse("just text\n") == "just text"


@pytest.mark.parametrize("text", ["a: &anchor 1\n", "a: !!str 1\n", "key: [unclosed\n", "- a\nb: c\n"])
def test_unsupported_or_malformed_yaml_raises(text):
    with pytest.raises(ValueError):
        miniyaml.parse(text)


def test_load_uses_pyyaml_when_present():
    assert miniyaml.load("a: [1, 2]\n") == {"a": [1, 2]}
