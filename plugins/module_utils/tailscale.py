# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive the `tailscale` CLI: read its state, plan the smallest change, run it.

Only the standard library and ansible.module_utils: managed hosts need nothing but Python 3.
The planning functions are pure (dicts in, lists out) so they can be tested without a daemon.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import re
import tempfile

DEFAULT_CONTROL_URL = "https://controlplane.tailscale.com"
LOGIN_SERVER_SYNONYMS = ("https://login.tailscale.com", DEFAULT_CONTROL_URL)
EXIT_ROUTES = ("0.0.0.0/0", "::/0")
LOGGED_IN_STATES = ("Running", "Starting", "Stopped", "NeedsMachineAuth")
# Tailscale keys (tskey-auth-, tskey-client-, tskey-api-) and Headscale keys (hskey-auth-, hskey-api-);
# not Headscale's registration IDs (hskey-authreq-...), which the admin needs to see.
SECRET_PATTERN = re.compile(r"(tskey|hskey)-(?!authreq-)[A-Za-z0-9_-]+(\?[^\s'\"]*)?")
REDACTED = "********"

# Preferences this collection manages: option name -> `tailscale up`/`set` flag.
# Tags and the control server cannot be changed with `tailscale set`.
FLAGS = {
    "login_server": "login-server",
    "hostname": "hostname",
    "tags": "advertise-tags",
    "advertise_routes": "advertise-routes",
    "advertise_exit_node": "advertise-exit-node",
    "exit_node": "exit-node",
    "accept_routes": "accept-routes",
    "accept_dns": "accept-dns",
    "ssh": "ssh",
    "shields_up": "shields-up",
    "operator": "operator",
}
UP_ONLY = ("login_server", "tags")

# `tailscale debug prefs` is documented upstream as not stable: it is read only from the
# releases whose output was captured from the real daemon (tests/fixtures/tailscale/<minor>/).
# (major, minor) bounds, the first supported and the first not yet supported.
SUPPORTED_VERSIONS = ((1, 102), (1, 103))


class TailscaleError(Exception):
    """A failure to report to the user; its text never contains a secret."""


def scrub(text, secrets=()):
    """Remove every secret, and anything shaped like a Tailscale key, from text."""
    text = text or ""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return SECRET_PATTERN.sub(lambda match: match.group(1) + "-" + REDACTED, text)


def supported_range():
    """The supported releases as text, e.g. '>=1.102.0,<1.103.0'."""
    (low_major, low_minor), (high_major, high_minor) = SUPPORTED_VERSIONS
    return ">=%d.%d.0,<%d.%d.0" % (low_major, low_minor, high_major, high_minor)


def version_problem(version):
    """Why the tailscale release `version` (e.g. '1.102.5') cannot be driven, or None."""
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", version or "")
    if not match:
        return "the tailscale version %r could not be read (set check_version=false to skip the check)" % (version,)
    release = (int(match.group(1)), int(match.group(2)))
    low, high = SUPPORTED_VERSIONS
    if low <= release < high:
        return None
    return (
        "tailscale %s is outside the supported range %s: this module reads `tailscale debug prefs`, which "
        "Tailscale does not keep stable between releases. Install a supported release (role homelab.k8s.tailscale, "
        "tailscale_version), or set check_version=false to try this one" % (match.group(0), supported_range())
    )


def normalize_routes(routes):
    """Canonical, sorted subnet routes; raises ValueError naming the first bad one."""
    result = set()
    for route in routes:
        try:
            net = ipaddress.ip_network(str(route), strict=True)
        except ValueError as exc:
            raise ValueError("%r is not a valid CIDR subnet (%s)" % (route, exc)) from None
        if net.prefixlen == 0:
            raise ValueError("%r is a default route: use advertise_exit_node instead" % (route,))
        result.add(str(net))
    return sorted(result, key=lambda r: (ipaddress.ip_network(r).version, ipaddress.ip_network(r)))


def validate(params):
    """Return a list of problems with the module parameters (empty when they are fine)."""
    # Tags are judged by the tailscale CLI itself (it refuses a bad tag before changing anything).
    errors = []
    if params.get("advertise_routes"):
        try:
            normalize_routes(params["advertise_routes"])
        except ValueError as exc:
            errors.append("advertise_routes: %s" % exc)
    server = params.get("login_server")
    if server and not re.match(r"^https?://[^\s/]+", server):
        errors.append("login_server: %r is not an http(s) URL" % server)
    hostname = params.get("hostname")
    if hostname and not re.match(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$", hostname):
        errors.append("hostname: %r is not a valid DNS label (letters, digits, dashes; at most 63)" % hostname)
    timeout = params.get("timeout")
    if timeout is not None and timeout <= 0:
        errors.append("timeout: %r must be a positive number of seconds" % timeout)
    return errors


def _exit_node_ip(prefs, status):
    if prefs.get("ExitNodeIP"):
        return prefs["ExitNodeIP"]
    node_id = prefs.get("ExitNodeID")
    if not node_id:
        return ""
    for peer in (status.get("Peer") or {}).values():
        if peer.get("ID") == node_id and peer.get("TailscaleIPs"):
            return peer["TailscaleIPs"][0]
    return node_id


def resolve_exit_node(value, status):
    """Map an exit node given as IP, MagicDNS name or host name to its Tailscale IP when known."""
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    wanted = value.rstrip(".").lower()
    for peer in (status.get("Peer") or {}).values():
        names = (peer.get("DNSName", "").rstrip(".").lower(), peer.get("HostName", "").lower())
        short = names[0].split(".")[0]
        if wanted in names or wanted == short:
            return (peer.get("TailscaleIPs") or [value])[0]
    return value


def current_view(prefs, status):
    """The managed preferences as this node has them now, in option names."""
    routes = [str(r) for r in prefs.get("AdvertiseRoutes") or []]
    return {
        "login_server": prefs.get("ControlURL") or DEFAULT_CONTROL_URL,
        "hostname": prefs.get("Hostname") or "",
        "tags": sorted(prefs.get("AdvertiseTags") or []),
        "advertise_routes": normalize_routes([r for r in routes if r not in EXIT_ROUTES]),
        "advertise_exit_node": all(r in routes for r in EXIT_ROUTES),
        "exit_node": _exit_node_ip(prefs, status),
        "accept_routes": bool(prefs.get("RouteAll")),
        "accept_dns": bool(prefs.get("CorpDNS")),
        "ssh": bool(prefs.get("RunSSH")),
        "shields_up": bool(prefs.get("ShieldsUp")),
        "operator": prefs.get("OperatorUser") or "",
    }


def desired_view(params, current, status):
    """`current` overridden by every option the user set (None leaves a preference alone)."""
    desired = dict(current)
    for key in FLAGS:
        value = params.get(key)
        if value is None:
            continue
        if key == "tags":
            value = sorted(set(value))
        elif key == "advertise_routes":
            value = normalize_routes(value)
        elif key == "exit_node":
            value = resolve_exit_node(value, status)
        elif key == "login_server":
            value = value.rstrip("/")
        desired[key] = value
    return desired


def same_login_server(a, b):
    return a == b or (a in LOGIN_SERVER_SYNONYMS and b in LOGIN_SERVER_SYNONYMS)


def changed_keys(current, desired):
    keys = []
    for key in FLAGS:
        if key == "login_server":
            if not same_login_server(current[key], desired[key]):
                keys.append(key)
        elif current[key] != desired[key]:
            keys.append(key)
    return keys


def flag(key, value):
    name = FLAGS[key]
    if isinstance(value, bool):
        return "--%s=%s" % (name, "true" if value else "false")
    if isinstance(value, list):
        value = ",".join(value)
    return "--%s=%s" % (name, value)


def plan(params, prefs, status):
    """Decide what to run. Returns (steps, changed_keys, current, desired).

    A step is a tuple (subcommand, [flags], needs_auth_key). Raises TailscaleError when the
    wanted state cannot be reached (for example: logged out and no auth key).
    """
    backend = status.get("BackendState", "")
    if backend == "NoState":
        raise TailscaleError("tailscaled has not finished starting (BackendState NoState); retry in a few seconds")
    logged_in = backend in LOGGED_IN_STATES
    current = current_view(prefs, status)
    desired = desired_view(params, current, status)
    keys = changed_keys(current, desired)
    state = params["state"]
    risk = ["--accept-risk=lose-ssh"] if params.get("accept_risk_lose_ssh") else []

    if state == "absent":
        return ([("logout", [], False)] if logged_in else []), [], current, current

    if logged_in and "login_server" in keys:
        raise TailscaleError(
            "login_server: this node is logged in to %s; moving it to %s needs a new login: "
            "run once with state=absent, then state=up with an auth_key"
            % (current["login_server"], desired["login_server"])
        )
    settable = [k for k in keys if k not in UP_ONLY]
    if state == "down":
        if "tags" in keys:
            raise TailscaleError(
                "tags: advertised tags can only change with state=up (`tailscale set` cannot change them)"
            )
        steps = [("set", [flag(k, desired[k]) for k in settable] + risk, False)] if settable else []
        if prefs.get("WantRunning"):
            steps.append(("down", list(risk), False))
        return steps, keys, current, desired

    if not logged_in:
        if not params.get("auth_key"):
            hint = " or log in interactively at %s" % status["AuthURL"] if status.get("AuthURL") else ""
            raise TailscaleError(
                "node is logged out (BackendState %s) and no auth_key was given: pass auth_key%s" % (backend, hint)
            )
        if params["auth_key"].startswith("tskey-client-") and not desired["tags"]:
            raise TailscaleError("auth_key is an OAuth client secret: it needs tags (OAuth keys are always tagged)")
        keys = keys or ["login"]
    needs_up = not logged_in or "tags" in keys or (not prefs.get("WantRunning") and backend != "NeedsMachineAuth")
    if needs_up:
        flags = [flag(k, desired[k]) for k in FLAGS]
        flags.append("--timeout=%ds" % params["timeout"])
        return [("up", flags + risk, not logged_in)], keys, current, desired
    if settable:
        return [("set", [flag(k, desired[k]) for k in settable] + risk, False)], keys, current, desired
    return [], keys, current, desired


def auth_key_value(params):
    """The --auth-key content: an OAuth client secret carries its ephemeral/preauthorized attributes."""
    key = params["auth_key"]
    if not key.startswith("tskey-client-"):
        return key
    attrs = []
    for name in ("ephemeral", "preauthorized"):
        value = params.get("auth_key_" + name)
        if value is not None:
            attrs.append("%s=%s" % (name, "true" if value else "false"))
    return key + ("?" + "&".join(attrs) if attrs else "")


def summary(status, prefs):
    """What the module returns about the node."""
    self_ = status.get("Self") or {}
    ips = self_.get("TailscaleIPs") or status.get("TailscaleIPs") or []
    ipv4 = [ip for ip in ips if ":" not in ip]
    ipv6 = [ip for ip in ips if ":" in ip]
    routes = [str(r) for r in prefs.get("AdvertiseRoutes") or []]
    return {
        "backend_state": status.get("BackendState", ""),
        "tailscale_ips": ips,
        "ipv4": ipv4[0] if ipv4 else "",
        "ipv6": ipv6[0] if ipv6 else "",
        "dns_name": (self_.get("DNSName") or "").rstrip("."),
        "hostname": self_.get("HostName", ""),
        "online": bool(self_.get("Online")),
        "tags": list(self_.get("Tags") or []),
        "advertised_routes": routes,
        "primary_routes": list(self_.get("PrimaryRoutes") or []),
        "magic_dns_suffix": (status.get("CurrentTailnet") or {}).get("MagicDNSSuffix", ""),
    }


KEY_REJECTED = (
    "invalid key",
    "key expired",
    "key has expired",
    # Headscale's answers (hscontrol/types/preauth_key.go, hscontrol/auth.go)
    "invalid authkey",
    "authkey expired",
    "authkey already used",
    "invalid pre auth key",
    "failed to parse auth-key",
)


def is_tailscale_control(login_server):
    return not login_server or same_login_server(login_server.rstrip("/"), DEFAULT_CONTROL_URL)


def explain_failure(command, rc, stderr, status, login_server=None):
    """Turn a failed tailscale command into a message that says what to do.

    login_server tells Tailscale's control plane (admin console) from a self-hosted one (Headscale).
    """
    text = stderr.strip()
    backend = status.get("BackendState", "") if status else ""
    hosted = is_tailscale_control(login_server)
    if any(reason in text for reason in KEY_REJECTED):
        where = (
            "create a new key in the admin console (Settings > Keys)"
            if hosted
            else "create a new one on the control server (Headscale: `headscale preauthkeys create --user <id>`)"
        )
        return (
            "the control server rejected auth_key (expired, revoked, already used or not for this tailnet): "
            "%s (%s)" % (where, text)
        )
    if "invalid or not permitted" in text:
        if hosted:
            why = "each tag needs an owner in tagOwners of the tailnet policy that includes the key's user"
        else:
            why = (
                "Headscale refuses tags advertised at a pre-auth key login: make a tagged key "
                "(`headscale preauthkeys create --tags tag:a,tag:b`) and leave tags empty, and give every tag an "
                "owner in tagOwners of its policy"
            )
        return "the control server refused the tags: %s (%s)" % (why, text)
    if backend == "NeedsMachineAuth" or "To approve your machine" in text:
        return (
            "this node is waiting for approval by a tailnet admin (BackendState NeedsMachineAuth): approve it in the "
            "admin console (Machines > this machine > Approve), or use a pre-approved auth key"
        )
    if "timeout waiting for Tailscale service" in text:
        return "tailscale %s did not reach the Running state within the timeout (BackendState %s): %s" % (
            command,
            backend or "unknown",
            text,
        )
    if "requires mentioning all" in text:
        return (
            "tailscale up refused because preferences not managed here differ from their defaults; "
            "set them back with `tailscale set` or manage them here. Tailscale said: %s" % text
        )
    if "aborted, no changes made" in text:
        return (
            "tailscale %s aborted: this session runs over Tailscale and the change would cut it; "
            "set accept_risk_lose_ssh=true to proceed (%s)" % (command, text)
        )
    return "tailscale %s failed (exit %s): %s" % (command, rc, text)


class TailscaleCLI:
    """Runs the real `tailscale` binary through AnsibleModule.run_command, never through a shell."""

    def __init__(self, module, binary, secrets=(), socket=None):
        self.module = module
        self.binary = binary
        self.socket = socket
        self.secrets = [s for s in secrets if s]
        self.commands = []

    def _run(self, args):
        socket = ["--socket=%s" % self.socket] if self.socket else []
        rc, out, err = self.module.run_command([self.binary, *socket, *args], environ_update={"LC_ALL": "C"})
        return rc, scrub(out, self.secrets), scrub(err, self.secrets)

    def read_json(self, args):
        rc, out, err = self._run(args)
        if rc != 0:
            text = (err or out).strip()
            if "tailscaled" in text and ("connect" in text or "running" in text):
                where = " at %s" % self.socket if self.socket else ""
                raise TailscaleError("tailscaled is not running or not reachable%s: %s" % (where, text))
            raise TailscaleError("tailscale %s failed (exit %s): %s" % (" ".join(args), rc, text))
        try:
            # Output may carry trailing warnings after the JSON document; decode only the document.
            data = json.JSONDecoder().raw_decode(out.lstrip())[0]
        except ValueError:
            raise TailscaleError("tailscale %s printed no JSON: %s" % (" ".join(args), out.strip()[:500])) from None
        return data

    def status(self):
        return self.read_json(["status", "--json"])

    def prefs(self):
        return self.read_json(["debug", "prefs"])

    def version(self):
        """The client's release, e.g. '1.102.5' (`tailscale version --json`, its majorMinorPatch)."""
        return str(self.read_json(["version", "--json"]).get("majorMinorPatch") or "")

    def record(self, subcommand, flags, with_key):
        """Note a changing command as the user may see it (the key file path hidden)."""
        key = ["--auth-key=file:" + REDACTED] if with_key else []
        self.commands.append(" ".join([subcommand, *flags, *key]))

    def run(self, subcommand, flags, auth_key=None):
        """Run a changing subcommand; an auth key goes in through a 0600 file, never argv."""
        args = [subcommand, *flags]
        path = None
        self.record(subcommand, flags, bool(auth_key))
        try:
            if auth_key:
                fd, path = tempfile.mkstemp(prefix="ts-auth-", dir=self.module.tmpdir)
                with os.fdopen(fd, "w") as handle:
                    handle.write(auth_key)
                args.append("--auth-key=file:%s" % path)
            rc, out, err = self._run(args)
        finally:
            if path and os.path.exists(path):
                os.remove(path)
        return rc, out, err
