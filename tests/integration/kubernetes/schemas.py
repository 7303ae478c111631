"""Validate a rendered document against tests/schemas, chosen by its apiVersion and kind."""

import json
from functools import cache
from pathlib import Path

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
FILES = {
    "apiserver.config.k8s.io/v1": "apiserver.config.k8s.io.json",
    "apiserver.config.k8s.io/v1beta1": "apiserver.config.k8s.io.json",
    "audit.k8s.io/v1": "audit.k8s.io_v1.json",
    "pod-security.admission.config.k8s.io/v1": "pod-security.admission.config.k8s.io_v1.json",
    "eventratelimit.admission.k8s.io/v1alpha1": "eventratelimit.admission.k8s.io_v1alpha1.json",
    "operator.tigera.io/v1": "operator.tigera.io_v1.json",
    "crd.projectcalico.org/v1": "crd.projectcalico.org_v1.json",
}


@cache
def _schema(filename):
    return json.loads((SCHEMAS / filename).read_text())


def validate(doc):
    """Raise jsonschema.ValidationError (or KeyError for an unknown apiVersion/kind)."""
    schema = dict(_schema(FILES[doc["apiVersion"]]))
    if doc["kind"] not in schema["$defs"]:
        raise KeyError(f"no schema for {doc['apiVersion']} {doc['kind']}")
    schema["$ref"] = f"#/$defs/{doc['kind']}"
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
