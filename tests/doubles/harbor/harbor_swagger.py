"""Validate HTTP exchanges against Harbor's own Swagger 2.0 API description.

openapi-core reads OpenAPI 3 only, so the Swagger 2.0 document is turned into JSON Schema
(Draft 4, which Swagger 2.0 schemas are a subset of) and checked with jsonschema.

Strictness beyond Harbor: objects may not carry properties the spec does not name (a typo in
a client's body or an invented field in a stand-in's answer is a failure, not silently ignored),
and query parameters the operation does not declare are refused.
"""

import json
import os
import re
from functools import cache
from pathlib import Path

import jsonschema
import yaml

SPEC_PATH = Path(
    os.environ.get(
        "HARBOR_SWAGGER_SPEC",
        Path(__file__).resolve().parent / "spec" / "harbor-api-v2.0-swagger.yaml",
    )
)

# Status codes every Harbor operation can answer although few operations list them: the
# security middleware (401, 403), request binding (422, see GUIDE section 5) and the recovery
# middleware (500). Their bodies must still match the spec's global responses.
MIDDLEWARE_CODES = {"401", "403", "422", "500"}


class Operation:
    def __init__(self, method, template, regex, op):
        self.method = method
        self.template = template
        self.regex = regex
        self.op_id = op["operationId"]
        self.params = op.get("parameters", [])
        self.responses = op["responses"]


class HarborSpec:
    def __init__(self, path=SPEC_PATH):
        with open(path, encoding="utf-8") as handle:
            self.doc = yaml.safe_load(handle)
        self.base_path = self.doc["basePath"]
        self.operations = []
        for template, item in self.doc["paths"].items():
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            regex = re.compile("^" + pattern + "$")
            for method, op in item.items():
                if method in ("get", "put", "post", "delete", "patch", "head"):
                    op = dict(op, parameters=[self.resolve(p) for p in op.get("parameters", [])])
                    self.operations.append(Operation(method.upper(), template, regex, op))
        # literal segments win over templated ones, as in Harbor's router
        self.operations.sort(key=lambda o: o.template.count("{"))

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            section, name = node["$ref"].split("/")[1:]
            node = self.doc[section][name]
        return node

    def find(self, method, path):
        """Return (operation, path parameters) for a request path below basePath."""
        for operation in self.operations:
            if operation.method != method:
                continue
            match = operation.regex.match(path)
            if match:
                return operation, match.groupdict()
        return None, None

    def to_json_schema(self, node):
        """Inline $refs, honour x-nullable and forbid unnamed properties."""
        node = self.resolve(node)
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key in ("description", "example", "format") or key.startswith("x-"):
                continue
            if key == "properties":
                out[key] = {name: self.to_json_schema(sub) for name, sub in value.items()}
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = self.to_json_schema(value)
            else:
                out[key] = value
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        if node.get("format") in ("int32", "int64"):
            bits = 31 if node["format"] == "int32" else 63
            out.update(minimum=-(2**bits), maximum=2**bits - 1)
        if node.get("format") == "date-time":
            out["pattern"] = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
        if node.get("x-nullable"):
            return {"anyOf": [out, {"type": "null"}]}
        return out


def _errors(schema, instance, where):
    validator = jsonschema.Draft4Validator(schema)
    return [f"{where}: {e.message} at /{'/'.join(map(str, e.absolute_path))}" for e in validator.iter_errors(instance)]


def _coerce(param, raw):
    """Convert one query/header/path string the way go-swagger binds it; raise ValueError."""
    kind = param.get("type", "string")
    if kind == "integer":
        return int(raw)
    if kind == "boolean":
        if raw not in ("true", "false", "1", "0"):
            raise ValueError(f"{raw!r} is not a boolean")
        return raw in ("true", "1")
    return raw


def _param_schema(param):
    return {k: v for k, v in param.items() if k in ("type", "minimum", "maximum", "minLength", "maxLength", "enum")}


@cache
def load():
    return HarborSpec()


def check_request(operation, path_params, query, headers, body):
    """List every way a request breaks the spec. query: {name: [values]}; body: bytes or None."""
    problems = []
    declared = {p["name"]: p for p in operation.params}
    for name in query:
        param = declared.get(name)
        if not param or param["in"] != "query":
            problems.append(f"query parameter {name!r} is not declared for {operation.op_id}")
    lowered = {k.lower(): v for k, v in headers.items()}
    for param in operation.params:
        where = param["in"]
        if where == "body":
            if body is None:
                if param.get("required"):
                    problems.append(f"{operation.op_id}: body {param['name']!r} is required")
                continue
            try:
                document = json.loads(body)
            except ValueError as exc:
                problems.append(f"{operation.op_id}: body is not JSON: {exc}")
                continue
            problems += _errors(load().to_json_schema(param["schema"]), document, f"{operation.op_id} body")
            continue
        raw = {
            "path": path_params.get(param["name"]),
            "query": (query.get(param["name"]) or [None])[0],
            "header": lowered.get(param["name"].lower()),
        }[where]
        if raw is None:
            if param.get("required"):
                problems.append(f"{operation.op_id}: {where} parameter {param['name']!r} is required")
            continue
        try:
            value = _coerce(param, raw)
        except ValueError as exc:
            problems.append(f"{operation.op_id}: {where} parameter {param['name']!r}: {exc}")
            continue
        problems += _errors(_param_schema(param), value, f"{operation.op_id} {where} {param['name']}")
    if body is not None and not any(p["in"] == "body" for p in operation.params):
        problems.append(f"{operation.op_id} takes no body")
    return problems


def check_response(operation, status, headers, body):
    """List every way a response breaks the spec. body: the decoded JSON or None."""
    spec = load()
    code = str(status)
    response = operation.responses.get(code)
    if response is None and code in MIDDLEWARE_CODES:
        response = spec.doc["responses"][code]
    if response is None:
        return [f"{operation.op_id}: status {code} is not documented"]
    response = spec.resolve(response)
    problems = []
    for name, header in response.get("headers", {}).items():
        if name in headers:
            try:
                _coerce(header, headers[name])
            except ValueError as exc:
                problems.append(f"{operation.op_id} {code} header {name}: {exc}")
    if "schema" in response:
        problems += _errors(spec.to_json_schema(response["schema"]), body, f"{operation.op_id} {code} body")
    elif body is not None:
        problems.append(f"{operation.op_id}: status {code} has no body in the spec")
    return problems
