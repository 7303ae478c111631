"""A stand-in for Semaphore's project API, for playbooks/semaphore_setup.yml.

No Semaphore server can run here, and its API document (api-docs.yml of Semaphore 2.16, Swagger
2.0) cannot be fetched: the Go module proxy does not serve github.com/semaphoreui/semaphore. The
schemas below follow that document's request definitions (ProjectRequest, AccessKeyRequest,
RepositoryRequest, InventoryRequest, EnvironmentRequest, TemplateRequest, ScheduleRequest) for the
fields the playbook uses, and refuse any other field, so that a misspelt field fails the test
where the real server would silently drop it. Behaviour follows the real server: bearer tokens
(401 without), a body's project_id must be the path's (400), referenced ids must exist (400),
POST answers 201 with the object, PUT 204, secrets of keys are never returned.
"""

import copy
import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema

INT = {"type": "integer", "minimum": 1}
STR = {"type": "string"}
BOOL = {"type": "boolean"}


def obj(required, **properties):
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


SCHEMAS = {
    "projects": obj(
        ["name"], name=STR, alert=BOOL, alert_chat=STR, max_parallel_tasks={"type": "integer", "minimum": 0}
    ),
    "keys": obj(
        ["name", "type", "project_id"],
        id={"type": "integer"},
        name=STR,
        type={"enum": ["none", "ssh", "login_password"]},
        project_id=INT,
        override_secret=BOOL,
        ssh=obj(["private_key"], login=STR, passphrase=STR, private_key=STR),
        login_password=obj(["password"], login=STR, password=STR),
    ),
    "repositories": obj(
        ["name", "project_id", "git_url", "git_branch", "ssh_key_id"],
        id={"type": "integer"},
        name=STR,
        project_id=INT,
        git_url=STR,
        git_branch=STR,
        ssh_key_id=INT,
    ),
    "inventory": obj(
        ["name", "project_id", "inventory", "type"],
        id={"type": "integer"},
        name=STR,
        project_id=INT,
        inventory=STR,
        ssh_key_id=INT,
        become_key_id=INT,
        repository_id=INT,
        type={"enum": ["static", "static-yaml", "file", "terraform-workspace"]},
    ),
    "environment": obj(
        ["name", "project_id", "json"],
        id={"type": "integer"},
        name=STR,
        project_id=INT,
        password=STR,
        json=STR,
        env=STR,
    ),
    "templates": obj(
        ["name", "project_id", "inventory_id", "repository_id", "environment_id", "playbook", "app"],
        id={"type": "integer"},
        project_id=INT,
        inventory_id=INT,
        repository_id=INT,
        environment_id=INT,
        name=STR,
        playbook=STR,
        arguments=STR,
        description=STR,
        allow_override_args_in_task=BOOL,
        app=STR,
        git_branch=STR,
        type={"enum": ["", "build", "deploy"]},
    ),
    "schedules": obj(
        ["name", "project_id", "template_id", "cron_format"],
        id={"type": "integer"},
        cron_format=STR,
        project_id=INT,
        template_id=INT,
        name=STR,
        active=BOOL,
    ),
}
# What a field must name among the project's objects.
REFERENCES = {
    "ssh_key_id": "keys",
    "become_key_id": "keys",
    "repository_id": "repositories",
    "inventory_id": "inventory",
    "environment_id": "environment",
    "template_id": "templates",
}
SECRET_FIELDS = ("ssh", "login_password", "override_secret", "password")


class State:
    def __init__(self, token):
        self.token = token
        self.ids = itertools.count(1)
        self.projects = {}
        self.objects = {}  # (project id, kind) -> {id: object}
        self.calls = []
        self.lock = threading.Lock()

    def kind(self, project_id, kind):
        return self.objects.setdefault((project_id, kind), {})


class Handler(BaseHTTPRequestHandler):
    state = None

    def log_message(self, *args):
        pass

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def handle_any(self, method):
        state = self.state
        with state.lock:
            state.calls.append((method, self.path))
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                return self.reply(401, {"error": "not authenticated"})
            path = self.path.split("?", 1)[0]
            if path == "/api/projects":
                return self.projects(method)
            match = re.fullmatch(
                r"/api/project/(\d+)/(keys|repositories|inventory|environment|templates|schedules)(?:/(\d+))?", path
            )
            if not match or int(match.group(1)) not in state.projects:
                return self.reply(404, {"error": "not found"})
            return self.objects(method, int(match.group(1)), match.group(2), match.group(3))

    def projects(self, method):
        state = self.state
        if method == "GET":
            return self.reply(200, list(state.projects.values()))
        if method != "POST":
            return self.reply(405, {"error": "method not allowed"})
        body = self.body()
        try:
            jsonschema.validate(body, SCHEMAS["projects"])
        except jsonschema.ValidationError as error:
            return self.reply(400, {"error": error.message})
        project = {"id": next(state.ids), "created": "2026-01-01T00:00:00Z", "alert": False, **body}
        state.projects[project["id"]] = project
        return self.reply(201, project)

    def objects(self, method, project_id, kind, object_id):
        state = self.state
        store = state.kind(project_id, kind)
        if method == "GET" and object_id is None:
            return self.reply(200, [self.public(o) for o in store.values()])
        if method == "GET":
            found = store.get(int(object_id))
            return self.reply(200, self.public(found)) if found else self.reply(404, {"error": "not found"})
        if method not in ("POST", "PUT") or (method == "POST") == (object_id is not None):
            return self.reply(405, {"error": "method not allowed"})
        body = self.body()
        try:
            jsonschema.validate(body, SCHEMAS[kind])
        except jsonschema.ValidationError as error:
            return self.reply(400, {"error": f"{kind}: {error.message}"})
        if body["project_id"] != project_id:
            return self.reply(400, {"error": "project id in body and URL must be the same"})
        for field, target in REFERENCES.items():
            if field in body and body[field] not in state.kind(project_id, target):
                return self.reply(400, {"error": f"{field} {body[field]} is not a {target} of the project"})
        if method == "POST":
            new = {**body, "id": next(state.ids)}
            store[new["id"]] = new
            return self.reply(201, self.public(new))
        if int(object_id) not in store or body.get("id", int(object_id)) != int(object_id):
            return self.reply(404 if int(object_id) not in store else 400, {"error": "bad id"})
        store[int(object_id)] = {**store[int(object_id)], **body, "id": int(object_id)}
        return self.reply(204)

    @staticmethod
    def public(item):
        return {k: v for k, v in copy.deepcopy(item).items() if k not in SECRET_FIELDS}

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


def serve(token):
    """Start the stand-in on a free loopback port: (server, state, base URL)."""
    state = State(token)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state, f"http://127.0.0.1:{server.server_address[1]}"
