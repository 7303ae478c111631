"""A stand-in for Semaphore's project API, for playbooks/semaphore_setup.yml.

No Semaphore server can run here. This follows Semaphore's published API document (api-docs.yml of
Semaphore 2.16, Swagger 2.0, basePath /api) and the handlers behind it (api/router.go,
api/projects/*.go) for the endpoints the playbook uses:

  GET  /api/projects                              -> 200, list of Project
  POST /api/projects                              -> 201, Project          (body: ProjectRequest)
  GET  /api/project/{project_id}/{kind}?sort=&order=  -> 200, list (sort and order are required
       query parameters of keys, repositories, inventory, environment and templates)
  GET  /api/project/{project_id}/schedules        -> 200, list of Schedule (served by the router's
       GetProjectSchedules; the document lists only the POST and the single-schedule paths)
  POST /api/project/{project_id}/{kind}           -> 201, the created object
  GET  /api/project/{project_id}/{kind}/{id}      -> 200, the object; 404 when unknown
  PUT  /api/project/{project_id}/{kind}/{id}      -> 204, no body; the body's id must be the path's

Authentication (securityDefinitions bearer and cookie): `Authorization: Bearer <API token>`, or the
`semaphore` session cookie that POST /api/auth/login (body: Login, 204) sets; 401 without either.
Request bodies are decoded like Go's encoding/json does: a field of the wrong JSON type is a 400,
an unknown field is dropped (so a misspelt field is lost, as on the real server, and the
playbook's comparison of what it wants with what the server keeps never settles), then each
handler's checks apply (400 with {"error": ...}). The document defines no conflict (409) for these
endpoints: Semaphore allows two objects of one name, so finding objects by name is the client's job.
Secrets of keys (ssh, login_password) are never returned.
"""

import copy
import itertools
import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jsonschema

INT = {"type": "integer"}
ID = {"type": "integer", "minimum": 1}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
NULLABLE_STR = {"type": ["string", "null"]}
TASK_PARAMS = {"type": "object"}


def obj(**properties):
    return {"type": "object", "properties": properties}


# Field types of the document's request definitions (the name of each is given).
SCHEMAS = {
    # definitions/ProjectRequest
    "projects": obj(
        name=STR,
        alert=BOOL,
        alert_chat=NULLABLE_STR,
        max_parallel_tasks={"type": "integer", "minimum": 0},
        type=STR,
        demo=BOOL,
    ),
    # definitions/AccessKeyRequest
    "keys": obj(
        id=INT,
        name=STR,
        type={"type": "string", "enum": ["none", "ssh", "login_password"]},
        project_id=ID,
        override_secret=BOOL,
        login_password=obj(password=STR, login=STR),
        ssh=obj(login=STR, passphrase=STR, private_key=STR),
    ),
    # definitions/RepositoryRequest
    "repositories": obj(id=INT, name=STR, project_id=INT, git_url=STR, git_branch=STR, ssh_key_id=INT),
    # definitions/InventoryRequest
    "inventory": obj(
        id=INT,
        name=STR,
        project_id=ID,
        inventory=STR,
        ssh_key_id=ID,
        become_key_id=ID,
        repository_id=ID,
        type={"type": "string", "enum": ["static", "static-yaml", "file", "terraform-workspace"]},
    ),
    # definitions/EnvironmentRequest (its secrets: definitions/EnvironmentSecretRequest)
    "environment": obj(
        id=INT,
        name=STR,
        project_id=ID,
        password=STR,
        json=STR,
        env=STR,
        secrets={"type": "array", "items": obj(id=INT, name=STR, secret=STR, type=STR, operation=STR)},
    ),
    # definitions/TemplateRequest
    "templates": obj(
        id=INT,
        project_id=ID,
        inventory_id=ID,
        repository_id=ID,
        environment_id=ID,
        environment_ids={"type": "array", "items": INT},
        view_id=ID,
        vaults={"type": "array", "items": {"type": "object"}},
        name=STR,
        playbook=STR,
        working_directory=NULLABLE_STR,
        arguments=STR,
        description=STR,
        allow_override_args_in_task=BOOL,
        limit=STR,
        suppress_success_alerts=BOOL,
        suppress_error_alerts=BOOL,
        app=STR,
        git_branch=STR,
        survey_vars={"type": "array", "items": {"type": "object"}},
        type={"type": "string", "enum": ["", "build", "deploy"]},
        start_version=STR,
        build_template_id=INT,
        autorun=BOOL,
        task_params=TASK_PARAMS,
    ),
    # definitions/ScheduleRequest
    "schedules": obj(
        id=INT,
        cron_format=STR,
        project_id=INT,
        template_id=INT,
        name=STR,
        active=BOOL,
        run_at=STR,
        type={"type": "string", "enum": ["", "run_at"]},
        task_params=TASK_PARAMS,
    ),
}
# List endpoints whose sort and order query parameters the document requires, and the sort names
# it allows (environment documents no enum).
LIST_SORTS = {
    "keys": {"name", "type"},
    "repositories": {"name", "git_url", "ssh_key"},
    "inventory": {"name", "type"},
    "environment": None,
    "templates": {"name", "playbook", "ssh_key", "inventory", "environment", "repository"},
}
# What a field must name among the project's objects (foreign keys of Semaphore's database).
REFERENCES = {
    "ssh_key_id": "keys",
    "become_key_id": "keys",
    "repository_id": "repositories",
    "inventory_id": "inventory",
    "environment_id": "environment",
    "template_id": "templates",
}
# Fields of definitions/AccessKey (the answer for keys): the secrets are not among them.
ACCESS_KEY_FIELDS = ("id", "name", "type", "project_id")
APPS = ("ansible", "terraform", "tofu", "bash", "powershell", "python", "pulumi", "")
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def required(body, *fields):
    for field in fields:
        if body.get(field) in (None, ""):
            return f"{field} is required"
    return None


def valid_json(text):
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def check(kind, body):
    """The checks of Semaphore's handlers and db models (Validate) beyond the field types."""
    if kind == "projects":
        return required(body, "name")
    if kind == "keys":
        if error := required(body, "name", "type"):
            return error
        if body["type"] == "ssh" and not (body.get("ssh") or {}).get("private_key"):
            return "ssh.private_key is required for a key of type ssh"
        return None
    if kind == "repositories":
        return required(body, "name", "git_url", "ssh_key_id")
    if kind == "inventory":
        if error := required(body, "name", "type"):
            return error
        if body["type"] == "file" and not body.get("repository_id") and not body.get("inventory"):
            return "inventory is required for an inventory of type file"
        return None
    if kind == "environment":
        if error := required(body, "name"):
            return error
        for field in ("json", "env"):
            if body.get(field) and not valid_json(body[field]):
                return f"{field} must be valid JSON"
        return None
    if kind == "templates":
        if body.get("app", "") not in APPS:
            return f"invalid app: {body['app']}"
        if body.get("app") == "ansible" and body.get("inventory_id") is None:
            return "template inventory can not be empty"
        if not body.get("name"):
            return "template name can not be empty"
        if body.get("app") not in ("terraform", "tofu") and not body.get("playbook"):
            return "template playbook can not be empty"
        if body.get("arguments") is not None and not valid_json(body["arguments"]):
            return "template arguments must be valid JSON"
        return None
    if kind == "schedules":
        if error := required(body, "template_id"):
            return error
        fields = (body.get("cron_format") or "").split()
        if body.get("type", "") == "" and (len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields)):
            return f"Cron: expected 5 fields in {body.get('cron_format')!r}"
        return None
    return None


class State:
    def __init__(self, token, login="admin", password=None):
        self.token = token
        self.login = login
        self.password = password
        self.sessions = set()
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

    def reply(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        """The decoded JSON body, or None when it is not JSON."""
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None

    def authenticated(self):
        state = self.state
        if self.headers.get("Authorization") == f"Bearer {state.token}":
            return True
        cookies = dict(
            part.strip().split("=", 1) for part in (self.headers.get("Cookie") or "").split(";") if "=" in part
        )
        return cookies.get("semaphore") in state.sessions

    def handle_any(self, method):
        state = self.state
        url = urlsplit(self.path)
        with state.lock:
            state.calls.append((method, self.path))
            if url.path == "/api/auth/login" and method == "POST":
                return self.login()
            if not self.authenticated():
                return self.reply(401)
            if url.path == "/api/projects":
                return self.projects(method)
            match = re.fullmatch(
                r"/api/project/(\d+)/(keys|repositories|inventory|environment|templates|schedules)(?:/(\d+))?",
                url.path,
            )
            if not match:
                return self.reply(404, {"error": "not found"})
            if int(match.group(1)) not in state.projects:
                return self.reply(404, {"error": "project not found"})
            object_id = int(match.group(3)) if match.group(3) else None
            return self.objects(method, int(match.group(1)), match.group(2), object_id, parse_qs(url.query))

    def login(self):
        # POST /auth/login, body definitions/Login: 204 and the session cookie, 400 otherwise.
        body = self.body()
        state = self.state
        if not isinstance(body, dict) or not state.password:
            return self.reply(400, {"error": "auth and password are required"})
        if body.get("auth") != state.login or body.get("password") != state.password:
            return self.reply(401)
        session = secrets.token_urlsafe(16)
        state.sessions.add(session)
        self.send_response(204)
        self.send_header("Set-Cookie", f"semaphore={session}; Path=/; HttpOnly")
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def decode(self, kind):
        """(known fields of the body, None) or (None, error message), as the handlers decode."""
        body = self.body()
        if not isinstance(body, dict):
            return None, "the body must be a JSON object"
        try:
            jsonschema.validate(body, SCHEMAS[kind])
        except jsonschema.ValidationError as error:
            where = ".".join(str(p) for p in error.absolute_path) or "body"
            return None, f"{where}: {error.message}"
        known = {k: v for k, v in body.items() if k in SCHEMAS[kind]["properties"]}
        return known, check(kind, known)

    def projects(self, method):
        state = self.state
        if method == "GET":
            return self.reply(200, list(state.projects.values()))
        if method != "POST":
            return self.reply(405, {"error": "method not allowed"})
        body, error = self.decode("projects")
        if error:
            return self.reply(400, {"error": error})
        body.pop("demo", None)
        project = {
            "id": next(state.ids),
            "created": "2026-01-01T00:00:00Z",
            "alert": False,
            "alert_chat": None,
            "max_parallel_tasks": 0,
            "type": "",
            **body,
        }
        state.projects[project["id"]] = project
        return self.reply(201, project)

    def objects(self, method, project_id, kind, object_id, query):
        state = self.state
        store = state.kind(project_id, kind)
        if method == "GET" and object_id is None:
            if kind in LIST_SORTS:
                sort, order = query.get("sort", [""])[0], query.get("order", [""])[0]
                sorts = LIST_SORTS[kind]
                if not sort or (sorts and sort not in sorts) or order not in ("asc", "desc"):
                    return self.reply(400, {"error": "the sort and order query parameters are required"})
            return self.reply(200, [self.public(kind, o) for o in store.values()])
        if method == "GET":
            found = store.get(object_id)
            return self.reply(200, self.public(kind, found)) if found else self.reply(404, {"error": "not found"})
        if method not in ("POST", "PUT") or (method == "POST") == (object_id is not None):
            return self.reply(405, {"error": "method not allowed"})
        if method == "PUT" and object_id not in store:
            return self.reply(404, {"error": "not found"})
        body, error = self.decode(kind)
        if error:
            return self.reply(400, {"error": f"{kind}: {error}"})
        if kind == "schedules" and method == "POST":
            body["project_id"] = project_id  # AddSchedule takes the project of the path
        if body.get("project_id") != project_id:
            return self.reply(400, {"error": "Project ID in body and URL must be the same"})
        if method == "PUT" and body.get("id") != object_id:
            return self.reply(400, {"error": f"{kind}: id in URL and in body must be the same"})
        for field, target in REFERENCES.items():
            if body.get(field) is not None and body[field] not in state.kind(project_id, target):
                return self.reply(400, {"error": f"{kind}: {field} {body[field]} is not one of the project's {target}"})
        if method == "POST":
            new = {**body, "id": next(state.ids)}
            store[new["id"]] = new
            return self.reply(201, self.public(kind, new))
        store[object_id] = {**body, "id": object_id}
        return self.reply(204)

    @staticmethod
    def public(kind, item):
        item = copy.deepcopy(item)
        if kind == "keys":
            return {k: item.get(k) for k in ACCESS_KEY_FIELDS}
        return item

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


def serve(token, password=None):
    """Start the stand-in on a free loopback port: (server, state, base URL)."""
    state = State(token, password=password)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state, f"http://127.0.0.1:{server.server_address[1]}"
