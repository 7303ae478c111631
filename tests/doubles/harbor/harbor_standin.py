"""A Harbor API v2.0 stand-in over loopback HTTP, used only by tests.

No Harbor server can run here. This one keeps the state Harbor keeps for what the collection
manages (projects with string metadata and CVE allowlists, quotas, project robots, registry
endpoints, repositories), behaves like Harbor's handlers where automation trips (GUIDE.md
section 5), and checks every request it receives and every response it sends against Harbor's
Swagger document (harbor_swagger.py). Violations are collected in `violations`; the pytest
fixture fails the test when any is left.

Tests can inject faults (`fail`), read the request log (`requests`, `writes`) and reach into
`state` to arrange what the API cannot (repositories pushed to a project).
"""

import base64
import json
import re
import secrets
import string
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, unquote_plus, urlsplit

import harbor_swagger

BOOL_KEYS = {
    "public",
    "enable_content_trust",
    "enable_content_trust_cosign",
    "prevent_vul",
    "auto_scan",
    "auto_sbom_generation",
    "reuse_sys_cve_allowlist",
    "proxy_cache_local_on_not_found",
    "proxy_referrer_api",
}
GATEWAY_CODES = (502, 503, 504)
SEVERITIES = {"none", "low", "medium", "high", "critical"}
NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
ROBOT_PREFIX = "robot$"
PROXY_TYPES = {"docker-hub", "docker-registry", "harbor", "github-ghcr", "quay", "gitlab", "aws-ecr", "azure-acr"}


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


ERROR_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT"}
ERROR_CODES.update({412: "PRECONDITION", 422: "UNPROCESSABLE_ENTITY"})


class HarborError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        code = ERROR_CODES.get(status, "UNKNOWN")
        self.body = {"errors": [{"code": code, "message": message}]}


class State:
    """What Harbor stores, reduced to the objects the collection manages."""

    def __init__(self):
        self.projects = {}
        self.quotas = {}
        self.robots = {}
        self.registries = {}
        self.repositories = {}
        self.issued_secrets = []  # every robot secret handed out, for leak checks
        self._ids = {}

    def next_id(self, kind):
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def project(self, ref, by_name):
        if not by_name and ref.isdigit():
            return self.projects.get(int(ref))
        return next((p for p in self.projects.values() if p["name"] == ref), None)

    def add_repository(self, project_name, repo):
        """Arrange a pushed repository (tests only: pushing is not an API call)."""
        project = self.project(project_name, True)
        rid = self.next_id("repo")
        self.repositories[rid] = {
            "id": rid,
            "project_id": project["project_id"],
            "name": f"{project_name}/{repo}",
            "artifact_count": 1,
            "pull_count": 0,
            "creation_time": now(),
            "update_time": now(),
        }


class HarborStandIn:
    def __init__(self, users=None, legacy_403=False, spec=None):
        self.users = users or {"admin": "Harbor12345"}
        self.legacy_403 = legacy_403  # Harbor <= 2.8 answered 403 for a missing project
        self.spec = spec or harbor_swagger.load()
        self.state = State()
        self.requests = []
        self.bodies = []
        self.violations = []
        self.faults = []
        self.lock = threading.RLock()
        self.closing = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    # test controls -------------------------------------------------------------------------
    def fail(self, method, path_regex, status, times=1):
        """Answer the next `times` matching requests with `status` (int) or "timeout"."""
        self.faults.append({"method": method, "path": re.compile(path_regex), "status": status, "times": times})

    @property
    def writes(self):
        return [r for r in self.requests if r[0] not in ("GET", "HEAD")]

    def reset_log(self):
        self.requests.clear()
        self.bodies.clear()

    # HTTP plumbing ---------------------------------------------------------------------------
    def _handler_class(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _any(self):
                standin.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

        return Handler

    def _take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault["times"] > 0 and fault["method"] in (method, "*") and fault["path"].search(path):
                    fault["times"] -= 1
                    return fault["status"]
        return None

    def handle(self, req):
        split = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        method = req.command
        raw_path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        status, payload, headers = self.dispatch(req, method, raw_path, query, body)
        with self.lock:
            self.requests.append((method, raw_path + (f"?{split.query}" if split.query else ""), status))
            self.bodies.append(json.loads(body) if body else None)
        data = b"" if payload is None else json.dumps(payload).encode()
        if status == "timeout":
            self.closing.wait(5)
            return
        req.send_response(status)
        req.send_header("X-Request-Id", secrets.token_hex(8))
        for key, value in headers.items():
            req.send_header(key, value)
        if payload is not None:
            req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        if method != "HEAD":
            req.wfile.write(data)

    def dispatch(self, req, method, raw_path, query, body):
        if not raw_path.startswith(self.spec.base_path + "/"):
            self.violations.append(f"{method} {raw_path}: outside {self.spec.base_path}")
            return 404, None, {}
        path = raw_path[len(self.spec.base_path) :]
        operation, path_params = self.spec.find(method, path)
        if operation is None:
            self.violations.append(f"{method} {path}: no such operation in Harbor's API")
            return 404, None, {}
        path_params = {k: unquote(v) for k, v in path_params.items()}
        problems = harbor_swagger.check_request(operation, path_params, query, dict(req.headers), body)
        self.violations += [f"request {method} {path}: {p}" for p in problems]
        fault = self._take_fault(method, path)
        if fault == "timeout":
            return "timeout", None, {}
        try:
            if fault:
                raise HarborError(fault, f"injected failure {fault}")
            self._authenticate(req)
            document = self._bind(req, operation, body)
            handler = getattr(self, "op_" + operation.op_id, None)
            if handler is None:
                self.violations.append(f"{operation.op_id} is not implemented by the stand-in")
                raise HarborError(500, "not implemented")
            with self.lock:
                status, payload, headers = handler(
                    params=path_params, query=query, body=document, headers=req.headers, path=raw_path
                )
        except HarborError as err:
            status, payload, headers = err.status, err.body, {}
        # 502/503/504 come from the reverse proxy in front of Harbor's core, outside the API contract
        gateway = fault in GATEWAY_CODES
        problems = [] if gateway else harbor_swagger.check_response(operation, status, headers, payload)
        self.violations += [f"response {method} {path} {status}: {p}" for p in problems]
        return status, payload, headers

    def _authenticate(self, req):
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _colon, password = base64.b64decode(auth[6:]).decode().partition(":")
            if self.users.get(user) == password:
                return
        raise HarborError(401, "unauthorized")

    def _bind(self, req, operation, body):
        """go-swagger binding: a body it cannot bind is a 422 (GUIDE.md section 5)."""
        if not any(p["in"] == "body" for p in operation.params) or body is None:
            return None
        if req.headers.get("Content-Type", "").split(";")[0] != "application/json":
            raise HarborError(422, "unsupported Content-Type")
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise HarborError(422, f"parsing body failed: {exc}") from exc
        schema = next(p for p in operation.params if p["in"] == "body")["schema"]
        if harbor_swagger._errors(self.spec.to_json_schema(schema), document, "body"):
            raise HarborError(422, "body does not match the expected type")
        return document

    # helpers ---------------------------------------------------------------------------------
    def _project(self, ref, headers, must_exist=True):
        by_name = (headers.get("X-Is-Resource-Name") or "").lower() == "true"
        project = self.state.project(ref, by_name)
        if project is None and must_exist:
            if self.legacy_403:
                raise HarborError(403, "forbidden")
            raise HarborError(404, f"project {ref} not found")
        return project

    def _project_view(self, project):
        view = {k: v for k, v in project.items() if k != "registry_id" or v}
        view["repo_count"] = sum(
            1 for r in self.state.repositories.values() if r["project_id"] == project["project_id"]
        )
        view["metadata"] = dict(project["metadata"])
        view["cve_allowlist"] = dict(project["cve_allowlist"])
        return view

    @staticmethod
    def _validate_metadata(metadata):
        for key, value in metadata.items():
            if value is None:
                continue
            if key in BOOL_KEYS and value not in ("true", "false"):
                raise HarborError(400, f"metadata.{key} should only be 'true' or 'false', but got: '{value}'")
            if key == "severity" and value not in SEVERITIES:
                raise HarborError(400, f"invalid severity {value}")

    @staticmethod
    def _page(items, query):
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("page_size", ["10"])[0])
        return items[(page - 1) * size : page * size], {"X-Total-Count": str(len(items))}

    @staticmethod
    def _q(query):
        """Harbor's q builder: the framework decodes q once, the builder decodes it again."""
        keywords = {}
        for part in filter(None, unquote_plus(query.get("q", [""])[0]).split(",")):
            key, _equals, value = part.partition("=")
            keywords[key] = value
        return keywords

    @staticmethod
    def _check_quota(value):
        if value is not None and value != -1 and value <= 0:
            raise HarborError(400, f"invalid storage quota {value}, it should be -1 or greater than 0")

    # projects --------------------------------------------------------------------------------
    def op_listProjects(self, query, **_):
        name = query.get("name", [""])[0]
        found = [self._project_view(p) for p in self.state.projects.values() if name in p["name"]]
        page, headers = self._page(found, query)
        return 200, page, headers

    def op_headProject(self, query, **_):
        name = query["project_name"][0]
        if self.state.project(name, True) is None:
            raise HarborError(404, f"project {name} not found")
        return 200, None, {}

    def op_createProject(self, body, path, **_):
        name = body.get("project_name") or ""
        if not NAME_RE.match(name):
            raise HarborError(400, f"project name {name!r} is not in lower case or contains illegal characters")
        if self.state.project(name, True):
            raise HarborError(409, f"project {name} already exists")
        metadata = {k: v for k, v in (body.get("metadata") or {}).items() if v is not None}
        if "public" not in metadata:
            metadata["public"] = "false" if body.get("public") is None else str(body["public"]).lower()
        self._validate_metadata(metadata)
        registry_id = body.get("registry_id")
        if registry_id is not None:
            registry = self.state.registries.get(registry_id)
            if registry is None or registry["type"] not in PROXY_TYPES:
                raise HarborError(400, f"{registry_id} is not a registry usable for a proxy cache")
        else:
            for key in ("proxy_speed_kb", "max_upstream_conn"):
                metadata.pop(key, None)
        limit = body.get("storage_limit")
        self._check_quota(limit)
        pid = self.state.next_id("project")
        allowlist = body.get("cve_allowlist") or {}
        self.state.projects[pid] = {
            "project_id": pid,
            "owner_id": 1,
            "name": name,
            "registry_id": registry_id or 0,
            "creation_time": now(),
            "update_time": now(),
            "deleted": False,
            "owner_name": "admin",
            "togglable": True,
            "current_user_role_id": 1,
            "current_user_role_ids": [1],
            "metadata": metadata,
            "cve_allowlist": self._allowlist(pid, allowlist),
        }
        qid = self.state.next_id("quota")
        self.state.quotas[qid] = {
            "id": qid,
            "ref": {"id": pid, "name": name, "owner_name": "admin"},
            "hard": {"storage": -1 if limit in (None, 0) else limit},
            "used": {"storage": 0},
            "creation_time": now(),
            "update_time": now(),
        }
        return 201, None, {"Location": f"{path.rstrip('/')}/{pid}"}

    def _allowlist(self, pid, allowlist, previous=None):
        previous = previous or {"id": self.state.next_id("allowlist"), "creation_time": now()}
        return {
            "id": previous["id"],
            "project_id": pid,
            "items": [{"cve_id": i["cve_id"]} for i in allowlist.get("items") or []],
            "expires_at": allowlist.get("expires_at"),
            "creation_time": previous["creation_time"],
            "update_time": now(),
        }

    def op_getProject(self, params, headers, **_):
        return 200, self._project_view(self._project(params["project_name_or_id"], headers)), {}

    def op_updateProject(self, params, headers, body, **_):
        project = self._project(params["project_name_or_id"], headers)
        allowlist = body.get("cve_allowlist")
        if allowlist is not None:
            if allowlist.get("project_id") not in (None, 0, project["project_id"]):
                raise HarborError(400, f"project_id in cve_allowlist must be {project['project_id']}")
            project["cve_allowlist"] = self._allowlist(project["project_id"], allowlist, project["cve_allowlist"])
        metadata = {k: v for k, v in (body.get("metadata") or {}).items() if v is not None}
        self._validate_metadata(metadata)
        if not project["registry_id"]:
            for key in ("proxy_speed_kb", "max_upstream_conn"):
                metadata.pop(key, None)
        project["metadata"].update(metadata)  # storage_limit and registry_id are ignored, as in Harbor
        project["update_time"] = now()
        return 200, None, {}

    def op_deleteProject(self, params, headers, **_):
        project = self._project(params["project_name_or_id"], headers)
        pid = project["project_id"]
        if any(r["project_id"] == pid for r in self.state.repositories.values()):
            raise HarborError(412, "the project contains repositories, can not be deleted")
        del self.state.projects[pid]
        self.state.robots = {k: r for k, r in self.state.robots.items() if r["project_id"] != pid}
        self.state.quotas = {k: q for k, q in self.state.quotas.items() if q["ref"]["id"] != pid}
        return 200, None, {}

    # metadata: PUT on a key the project lacks answers 200 and changes nothing (GUIDE.md 5)
    def op_listProjectMetadatas(self, params, headers, **_):
        return 200, dict(self._project(params["project_name_or_id"], headers)["metadata"]), {}

    def op_addProjectMetadatas(self, params, headers, body, **_):
        project = self._project(params["project_name_or_id"], headers)
        body = body or {}
        self._validate_metadata(body)
        if set(body) & set(project["metadata"]):
            raise HarborError(409, "metadata already exists")
        project["metadata"].update(body)
        return 200, None, {}

    def op_updateProjectMetadata(self, params, headers, body, **_):
        project = self._project(params["project_name_or_id"], headers)
        key = params["meta_name"]
        body = body or {}
        self._validate_metadata(body)
        if key in project["metadata"] and key in body:
            project["metadata"][key] = body[key]
        return 200, None, {}

    # repositories ----------------------------------------------------------------------------
    def op_listRepositories(self, params, query, **_):
        project = self._project(params["project_name"], {"X-Is-Resource-Name": "true"})
        repos = [r for r in self.state.repositories.values() if r["project_id"] == project["project_id"]]
        page, headers = self._page(repos, query)
        return 200, page, headers

    def op_deleteRepository(self, params, **_):
        # the path segment arrives encoded twice: a/b -> a%252Fb
        name = f"{params['project_name']}/{unquote(params['repository_name'])}"
        rid = next((k for k, r in self.state.repositories.items() if r["name"] == name), None)
        if rid is None:
            raise HarborError(404, f"repository {name} not found")
        del self.state.repositories[rid]
        return 200, None, {}

    # quotas ----------------------------------------------------------------------------------
    def op_listQuotas(self, query, **_):
        ref_id = query.get("reference_id", [None])[0]
        found = [
            q
            for q in self.state.quotas.values()
            if query.get("reference", ["project"])[0] == "project" and (ref_id is None or str(q["ref"]["id"]) == ref_id)
        ]
        page, headers = self._page(found, query)
        return 200, page, headers

    def op_getQuota(self, params, **_):
        quota = self.state.quotas.get(int(params["id"]))
        if quota is None:
            raise HarborError(404, "quota not found")
        return 200, quota, {}

    def op_updateQuota(self, params, body, **_):
        quota = self.state.quotas.get(int(params["id"]))
        if quota is None:
            raise HarborError(404, "quota not found")
        hard = body.get("hard") or {}
        if set(hard) != {"storage"}:
            raise HarborError(400, "only the storage resource can be set")
        self._check_quota(hard["storage"])
        quota["hard"] = dict(hard)
        quota["update_time"] = now()
        return 200, None, {}

    # robots ----------------------------------------------------------------------------------
    def _robot_view(self, robot):
        view = {k: v for k, v in robot.items() if k not in ("secret", "project_id")}
        view["name"] = ROBOT_PREFIX + robot["name"]
        return view

    def op_ListRobot(self, query, **_):
        keywords = self._q(query)
        if keywords.get("Level", "system") == "project":
            if "ProjectID" not in keywords:
                raise HarborError(400, "must with project ID when to query project robots")
            pid = int(keywords["ProjectID"])
        else:
            pid = 0  # without Level=project only system robots are listed (GUIDE.md 5)
        found = [
            self._robot_view(r)
            for r in self.state.robots.values()
            if r["project_id"] == pid and keywords.get("name", r["name"]) == r["name"]
        ]
        page, headers = self._page(found, query)
        return 200, page, headers

    def _check_robot(self, body):
        if body.get("duration") is None:
            raise HarborError(400, "duration is required")  # current Harbor: no silent default
        if body["duration"] < -1 or body["duration"] == 0:
            raise HarborError(400, f"bad request error duration input: {body['duration']}")
        if body.get("level") != "project":
            raise HarborError(400, f"bad request error level input: {body.get('level')}")
        perms = body.get("permissions") or []
        if len(perms) != 1 or not perms[0].get("access") or perms[0].get("kind") != "project":
            raise HarborError(400, "bad request permission")
        project = self.state.project(perms[0].get("namespace", ""), True)
        if project is None:
            raise HarborError(404 if not self.legacy_403 else 403, f"project {perms[0].get('namespace')} not found")
        return project

    @staticmethod
    def _expiry(duration):
        return -1 if duration == -1 else int(time.time()) + duration * 86400

    def _new_secret(self):
        alphabet = string.ascii_letters + string.digits
        secret = "Aa1" + "".join(secrets.choice(alphabet) for _position in range(29))
        self.state.issued_secrets.append(secret)
        return secret

    def op_CreateRobot(self, body, path, **_):
        if not NAME_RE.match(body.get("name") or ""):
            raise HarborError(400, "robot name is not in lower case or contains illegal characters")
        project = self._check_robot(body)
        name = f"{project['name']}+{body['name']}"
        if any(r["name"] == name for r in self.state.robots.values()):
            raise HarborError(409, f"robot account {name} already exists")
        rid = self.state.next_id("robot")
        secret = self._new_secret()
        self.state.robots[rid] = {
            "id": rid,
            "name": name,
            "description": body.get("description", ""),
            "level": "project",
            "duration": body["duration"],
            "editable": True,
            "disable": bool(body.get("disable")),
            "expires_at": self._expiry(body["duration"]),
            "permissions": [
                {
                    "kind": "project",
                    "namespace": project["name"],
                    "access": [dict(a) for a in body["permissions"][0]["access"]],
                }
            ],
            "creator_type": "local",
            "creator_ref": 1,
            "creation_time": now(),
            "update_time": now(),
            "project_id": project["project_id"],
            "secret": secret,
        }
        created = self.state.robots[rid]
        payload = {
            "id": rid,
            "name": ROBOT_PREFIX + name,
            "secret": secret,
            "creation_time": created["creation_time"],
            "expires_at": created["expires_at"],
        }
        return 201, payload, {"Location": f"{path.rstrip('/')}/{rid}"}

    def _robot(self, params):
        robot = self.state.robots.get(int(params["robot_id"]))
        if robot is None:
            raise HarborError(404, f"robot {params['robot_id']} not found")
        return robot

    def op_GetRobotByID(self, params, **_):
        return 200, self._robot_view(self._robot(params)), {}

    def op_UpdateRobot(self, params, body, **_):
        robot = self._robot(params)
        self._check_robot(body)
        if body.get("name") != ROBOT_PREFIX + robot["name"] or body.get("level") != robot["level"]:
            raise HarborError(400, "cannot update the level or name of robot")
        if body["duration"] != robot["duration"]:
            robot["duration"] = body["duration"]
            robot["expires_at"] = self._expiry(body["duration"])
        robot["description"] = body.get("description", "")
        robot["disable"] = bool(body.get("disable"))
        robot["permissions"] = [dict(p) for p in body["permissions"]]
        robot["update_time"] = now()
        return 200, None, {}

    def op_RefreshSec(self, params, body, **_):
        robot = self._robot(params)
        given = (body or {}).get("secret") or ""
        if given:
            if not (8 <= len(given) <= 128 and all(re.search(c, given) for c in ("[a-z]", "[A-Z]", "[0-9]"))):
                raise HarborError(400, "the secret must longer than 8 chars with at least 1 uppercase letter")
            robot["secret"] = given
            return 200, {"secret": ""}, {}
        robot["secret"] = self._new_secret()
        return 200, {"secret": robot["secret"]}, {}

    def op_DeleteRobot(self, params, **_):
        del self.state.robots[self._robot(params)["id"]]
        return 200, None, {}

    # registries ------------------------------------------------------------------------------
    @staticmethod
    def _registry_view(registry):
        view = dict(registry)
        if view.get("credential"):
            view["credential"] = dict(view["credential"], access_secret="*****")
        return view

    def op_listRegistries(self, query, **_):
        keywords = self._q(query)
        found = [
            self._registry_view(r)
            for r in self.state.registries.values()
            if keywords.get("name", r["name"]) == r["name"]
        ]
        page, headers = self._page(found, query)
        return 200, page, headers

    def op_createRegistry(self, body, path, **_):
        if not body.get("name") or not body.get("url") or not body.get("type"):
            raise HarborError(400, "name, url and type are required")
        if any(r["name"] == body["name"] for r in self.state.registries.values()):
            raise HarborError(409, f"registry {body['name']} already exists")
        rid = self.state.next_id("registry")
        self.state.registries[rid] = dict(
            body, id=rid, status="healthy", creation_time=now(), update_time=now(), insecure=bool(body.get("insecure"))
        )
        return 201, None, {"Location": f"{path.rstrip('/')}/{rid}"}

    def op_getRegistry(self, params, **_):
        registry = self.state.registries.get(int(params["id"]))
        if registry is None:
            raise HarborError(404, "registry not found")
        return 200, self._registry_view(registry), {}

    # Registry updates and deletions as Harbor's registry handler makes them: only the fields
    # given change, the credential is one record, an endpoint a proxy cache uses stays (412).
    def op_updateRegistry(self, params, body, **_):
        registry = self.state.registries.get(int(params["id"]))
        if registry is None:
            raise HarborError(404, "registry not found")
        body = body or {}
        if body.get("name") and any(
            r["name"] == body["name"] and r["id"] != registry["id"] for r in self.state.registries.values()
        ):
            raise HarborError(409, f"registry {body['name']} already exists")
        for key in ("name", "description", "url", "insecure", "ca_certificate"):
            if body.get(key) is not None:
                registry[key] = body[key]
        credential = dict(registry.get("credential") or {})
        for key, field in (
            ("credential_type", "type"),
            ("access_key", "access_key"),
            ("access_secret", "access_secret"),
        ):
            if body.get(key) is not None:
                credential[field] = body[key]
        if credential:
            registry["credential"] = credential
        registry["update_time"] = now()
        return 200, None, {}

    def op_deleteRegistry(self, params, **_):
        rid = int(params["id"])
        if rid not in self.state.registries:
            raise HarborError(404, "registry not found")
        if any(p.get("registry_id") == rid for p in self.state.projects.values()):
            raise HarborError(412, "the registry is referenced by proxy cache projects, cannot delete it")
        del self.state.registries[rid]
        return 200, None, {}
