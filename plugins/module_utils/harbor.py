# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for Harbor's API v2.0 and the pure logic of the harbor_* modules.

Standard library and ansible.module_utils only: the modules run wherever Python 3 runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import ssl
import time
from calendar import timegm
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.urls import SSLValidationError, open_url

RETRY_STATUSES = (500, 502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE")
PAGE_SIZE = 100


def harbor_argument_spec():
    """Connection options shared by every harbor_* module (doc fragment homelab.k8s.harbor)."""
    return dict(
        url=dict(type="str", required=True, fallback=(env_fallback, ["HARBOR_URL"])),
        username=dict(type="str", required=True, fallback=(env_fallback, ["HARBOR_USERNAME"])),
        password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["HARBOR_PASSWORD"])),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
    )


class HarborApiError(Exception):
    def __init__(self, message, status=None):
        super(HarborApiError, self).__init__(message)
        self.status = status


def _harbor_message(payload):
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        return "; ".join(str(e.get("message", "")) for e in errors)
    return ""


class HarborClient:
    """JSON over HTTPS with basic auth, bounded retries and errors that say what to check."""

    def __init__(self, params, sleep=None):
        self.url = params["url"].rstrip("/")
        if not re.match(r"^https?://[^/]+", self.url) or self.url.endswith("/api/v2.0"):
            raise HarborApiError(
                "url must be Harbor's base address such as https://harbor.example.com, without /api/v2.0; got %r"
                % params["url"]
            )
        if params["timeout"] <= 0:
            raise HarborApiError("timeout must be a positive number of seconds, got %r" % params["timeout"])
        self.base = self.url + "/api/v2.0"
        self.username = params["username"]
        self.password = params["password"]
        self.validate_certs = params["validate_certs"]
        self.ca_path = params.get("ca_path")
        self.timeout = params["timeout"]
        self.retries = max(0, params["retries"])
        self.sleep = sleep or time.sleep

    def request(self, method, path, query=None, body=None, headers=None, allow=()):
        """Send one API call; return (status, decoded body, headers). Statuses in `allow` do not raise."""
        url = self.base + path + ("?" + urlencode(query) if query else "")
        sent_headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        attempt = 0
        while True:
            attempt += 1
            retry = attempt <= self.retries
            try:
                response = open_url(
                    url,
                    data=data,
                    headers=sent_headers,
                    method=method,
                    url_username=self.username,
                    url_password=self.password,
                    force_basic_auth=True,
                    validate_certs=self.validate_certs,
                    ca_path=self.ca_path,
                    timeout=self.timeout,
                    use_netrc=False,
                    follow_redirects="none",
                )
                return response.getcode(), self._decode(response.read()), dict(response.headers)
            except HTTPError as err:
                payload = self._decode(err.read())
                if err.code in allow:
                    return err.code, payload, dict(err.headers)
                if err.code in RETRY_STATUSES and method in IDEMPOTENT_METHODS and retry:
                    self._backoff(attempt)
                    continue
                raise HarborApiError(self.explain(method, path, err.code, payload, attempt), err.code) from err
            except SSLValidationError as err:
                raise HarborApiError(self._tls_message(err)) from err
            except (URLError, OSError) as err:  # refused, reset, timed out, TLS
                reason = getattr(err, "reason", err)
                if isinstance(reason, ssl.SSLError):
                    raise HarborApiError(self._tls_message(reason)) from err
                # a refused connection never reached Harbor; other failures may have, so only
                # calls that are safe to repeat are sent again
                if retry and (method in IDEMPOTENT_METHODS or isinstance(reason, ConnectionRefusedError)):
                    self._backoff(attempt)
                    continue
                raise HarborApiError(
                    "cannot reach Harbor at %s after %d attempt(s): %s. Check url, DNS, the firewall, "
                    "timeout (%ss) and that Harbor's core service is running."
                    % (self.url, attempt, reason, self.timeout)
                ) from err

    def _backoff(self, attempt):
        self.sleep(min(2 ** (attempt - 1), 10))

    @staticmethod
    def _decode(raw):
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _tls_message(self, reason):
        return (
            "TLS verification of %s failed: %s. Set ca_path to the CA bundle that signed Harbor's certificate "
            "and check that the certificate names this host; validate_certs=false is only for throwaway labs."
            % (self.url, reason)
        )

    def explain(self, method, path, status, payload, attempts=1):
        said = _harbor_message(payload)
        said = " Harbor said: %s." % said if said else ""
        call = "%s %s" % (method, path)
        hints = {
            401: "Harbor at %s rejected the credentials of user %r (HTTP 401): check username and password "
            "(robot accounts log in with their full robot$ name)." % (self.url, self.username),
            403: "user %r may not %s (HTTP 403): it needs Harbor's system administrator role, or project "
            "administrator of that project. Harbor 2.8 and older also answer 403 for a project that does "
            "not exist." % (self.username, call),
            404: "%s found nothing (HTTP 404): check that url points at Harbor itself and that the object "
            "exists." % call,
            409: "%s conflicts with an existing object (HTTP 409): the name is taken, possibly by an object "
            "user %r cannot see or by a concurrent run." % (call, self.username),
            412: "%s was refused (HTTP 412): a precondition failed, for example the project still holds "
            "repositories or has running tasks." % call,
            422: "Harbor could not bind the request body of %s (HTTP 422): the payload has a wrong type or "
            "shape for this Harbor version." % call,
        }
        if status in hints:
            return hints[status] + said
        if 300 <= status < 400:
            return "%s was redirected (HTTP %d): set url to Harbor's final https address.%s" % (call, status, said)
        if status >= 500:
            return (
                "Harbor answered HTTP %d to %s after %d attempt(s): check the health of Harbor's core, "
                "database and redis services.%s" % (status, call, attempts, said)
            )
        return "Harbor rejected %s (HTTP %d).%s" % (call, status, said)

    def list_all(self, path, query=None):
        """Every item of a paged list endpoint."""
        items = []
        page = 1
        while True:
            params = dict(query or {}, page=page, page_size=PAGE_SIZE)
            _status, batch, headers = self.request("GET", path, params)
            batch = batch or []
            items.extend(batch)
            total = int(headers.get("X-Total-Count") or len(items))
            if len(batch) < PAGE_SIZE or len(items) >= total:
                return items
            page += 1

    # projects ------------------------------------------------------------------------------
    def get_project(self, name):
        """The project named `name` or None. Exact name: the list endpoint matches substrings."""
        path = "/projects/%s" % quote(name, safe="")
        status, project, _headers = self.request("GET", path, headers={"X-Is-Resource-Name": "true"}, allow=(403, 404))
        if status == 200:
            return project
        if status == 403:
            # Harbor <= 2.8 answers 403 for a missing project: tell it apart from a real denial
            visible = self.list_all("/projects", {"name": name})
            if any(p.get("name") == name for p in visible):
                raise HarborApiError(self.explain("GET", path, 403, None), 403)
        return None

    def get_project_quota(self, project_id):
        quotas = self.list_all("/quotas", {"reference": "project", "reference_id": str(project_id)})
        return quotas[0] if quotas else None

    # registries ----------------------------------------------------------------------------
    def find_registry(self, name):
        """The registry endpoint named exactly `name`, or None."""
        registries = self.list_all("/registries", {"q": "name=%s" % name})
        return next((r for r in registries if r.get("name") == name), None)

    # robots --------------------------------------------------------------------------------
    def find_project_robot(self, project_id, stored_name):
        """The project robot stored as `<project>+<name>`, or None.

        Harbor decodes q twice, so the value is escaped here once and urlencode escapes it
        again: a literal `+` travels as %252B.
        """
        q = "Level=project,ProjectID=%d,name=%s" % (project_id, quote(stored_name, safe=""))
        robots = self.list_all("/robots", {"q": q})
        return next((r for r in robots if r.get("name", "").endswith(stored_name)), None)


# registry logic --------------------------------------------------------------------------------
def registry_view(registry):
    """An endpoint as the modules return it: never its secret (Harbor masks it anyway)."""
    if not registry:
        return {}
    credential = registry.get("credential") or {}
    view = dict((key, registry.get(key)) for key in ("id", "name", "type", "url", "description", "insecure", "status"))
    view["credential"] = {"type": credential.get("type"), "access_key": credential.get("access_key")}
    return view


def registry_changes(current, params):
    """The RegistryUpdate body that brings `current` to the module `params`, and its report.

    Unset options are left alone. A secret cannot be read back, so it is sent only with
    update_secret=always (and then always counts as a change).
    """
    credential = current.get("credential") or {}
    update = {}
    wanted = (
        ("url", params.get("endpoint_url"), current.get("url")),
        ("description", params.get("description"), current.get("description") or ""),
        ("insecure", params.get("insecure"), bool(current.get("insecure"))),
        ("access_key", params.get("access_key"), credential.get("access_key")),
    )
    for key, value, have in wanted:
        if value is not None and value != have:
            update[key] = value
    if params.get("access_key") is not None and params.get("credential_type") != credential.get("type"):
        update["credential_type"] = params["credential_type"]
    changes = dict(update)
    if params.get("access_secret") is not None and params.get("update_secret") == "always":
        update["access_secret"] = params["access_secret"]
        changes["access_secret"] = True
    return update, changes


# project logic ---------------------------------------------------------------------------------
# module option -> Harbor project metadata key (Harbor keeps metadata values as strings)
PROJECT_METADATA = (
    ("public", "public"),
    ("auto_scan", "auto_scan"),
    ("auto_sbom_generation", "auto_sbom_generation"),
    ("prevent_vulnerable", "prevent_vul"),
    ("severity", "severity"),
    ("content_trust_cosign", "enable_content_trust_cosign"),
    ("reuse_sys_cve_allowlist", "reuse_sys_cve_allowlist"),
)
SEVERITIES = ("none", "low", "medium", "high", "critical")
_SIZE_UNITS = {"": 0, "B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}


def parse_size(value):
    """Bytes for a storage quota: -1 (unlimited) or a number with an optional K/M/G/T/P unit.

    Units are binary (G = GiB = 1024^3), as Harbor's portal counts them; KB, KiB, GB, GiB ... are
    accepted as the same unit.
    """
    text = str(value).strip()
    if text == "-1":
        return -1
    match = re.match(r"^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?$", text, re.IGNORECASE)
    if not match or (match.group(2) == "" and text.upper().endswith("IB")):
        raise ValueError("storage_quota %r is not -1 or a size such as 500M, 20G or 1T" % (value,))
    size = int(float(match.group(1)) * 1024 ** _SIZE_UNITS[match.group(2).upper()])
    if size <= 0 or size >= 2**63:
        raise ValueError("storage_quota %r must be -1 or a size between 1 byte and 8 EiB" % (value,))
    return size


def format_size(size):
    if size is None:
        return None
    if size < 0:
        return "-1"
    for unit in ("P", "T", "G", "M", "K"):
        factor = 1024 ** _SIZE_UNITS[unit]
        if size >= factor and size % factor == 0:
            return "%d%s" % (size // factor, unit)
    return str(size)


def parse_expiry(value):
    """Epoch seconds for a CVE allowlist expiry given as epoch seconds or YYYY-MM-DD (UTC); None = never."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if re.match(r"^\d+$", text):
        return int(text)
    try:
        return timegm(time.strptime(text, "%Y-%m-%d"))
    except ValueError as err:
        raise ValueError(
            "cve_allowlist.expires_at %r is neither epoch seconds nor a YYYY-MM-DD date" % (value,)
        ) from err


def desired_metadata(params):
    """Metadata the module manages, as Harbor's strings; options left unset are not managed."""
    wanted = {}
    for option, key in PROJECT_METADATA:
        value = params.get(option)
        if value is None:
            continue
        wanted[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return wanted


def metadata_changes(current, wanted):
    """Keys whose value differs. A boolean key Harbor has never stored reads as "false"."""
    current = current or {}
    changes = {}
    for key, value in wanted.items():
        have = current.get(key)
        if have is None and value == "false" and key != "severity":
            continue
        if have != value:
            changes[key] = value
    return changes


def allowlist_state(allowlist):
    allowlist = allowlist or {}
    return {
        "items": sorted(set(i.get("cve_id") for i in allowlist.get("items") or [] if i.get("cve_id"))),
        "expires_at": allowlist.get("expires_at") or None,
    }


def allowlist_payload(state):
    return {"items": [{"cve_id": cve} for cve in state["items"]], "expires_at": state["expires_at"]}


# robot logic -----------------------------------------------------------------------------------
def robot_access(permissions):
    """The access list Harbor stores for the module's permissions option, in a stable order."""
    access = set((p["resource"], p["action"], "allow") for p in permissions)
    return [{"resource": r, "action": a, "effect": e} for r, a, e in sorted(access)]


def robot_current_access(robot):
    access = set()
    for permission in robot.get("permissions") or []:
        for item in permission.get("access") or []:
            access.add((item.get("resource"), item.get("action"), item.get("effect") or "allow"))
    return [{"resource": r, "action": a, "effect": e} for r, a, e in sorted(access)]
