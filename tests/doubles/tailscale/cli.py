"""Stand-in for the `tailscale` command line client, for tests only.

No tailscaled can run on the test machines, so this plays the client and the daemon behind it.
It follows tailscale/tailscale's cmd/tailscale/cli (up.go, set.go, down.go, logout.go, status.go,
ip.go, debug.go) and ipn/ipnstate: the same subcommands and flags (Go `flag` package parsing:
unknown flag -> exit 2), the same messages and exit codes, the `status --json` shape of
ipnstate.Status (two-space indent, no trailing newline) and the `debug prefs` shape of ipn.Prefs.

The daemon and control-server side lives in a JSON state file named by $TAILSCALE_DOUBLE_STATE
(see make_state); every invocation's argv is appended to its "calls" list.
"""

import ipaddress
import json
import os
import re
import sys
import time

DEFAULT_CONTROL_URL = "https://controlplane.tailscale.com"
LOGIN_SYNONYMS = ("https://login.tailscale.com", DEFAULT_CONTROL_URL)
EXIT_ROUTES = ["0.0.0.0/0", "::/0"]
ZERO_TIME = "0001-01-01T00:00:00Z"
CONNECT_ERROR = (
    "failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)"
)
LOCALAPI_ERROR = (
    "Failed to connect to local Tailscale daemon for /localapi/v0/status; not running? "
    "Error: dial unix /var/run/tailscale/tailscaled.sock: connect: no such file or directory"
)
ACCIDENTAL_UP_PREFIX = (
    "Error: changing settings via 'tailscale up' requires mentioning all\n"
    "non-default flags. To proceed, either re-run your command with --reset or\n"
    "use the command below to explicitly mention the current value of\n"
    "all non-default settings:\n\n"
    "\ttailscale up"
)
TIMEOUT_ERROR = 'timeout waiting for Tailscale service to enter a Running state; check health with "tailscale status"'


class Exit(Exception):
    def __init__(self, code, stderr="", stdout=""):
        super().__init__(stderr)
        self.code, self.stderr, self.stdout = code, stderr, stdout


def default_prefs():
    """ipn.NewPrefs() on Linux, before the first `up` (ControlURL still empty)."""
    return {
        "ControlURL": "",
        "RouteAll": False,
        "ExitNodeID": "",
        "ExitNodeIP": "",
        "InternalExitNodePrior": "",
        "ExitNodeAllowLANAccess": False,
        "CorpDNS": True,
        "RunSSH": False,
        "RunWebClient": False,
        "WantRunning": False,
        "LoggedOut": False,
        "ShieldsUp": False,
        "AdvertiseTags": None,
        "Hostname": "",
        "NotepadURLs": False,
        "AdvertiseRoutes": None,
        "AdvertiseServices": None,
        "Sync": None,
        "NoSNAT": False,
        "NoStatefulFiltering": "true",
        "NetfilterMode": 2,
        "AutoUpdate": {"Check": True, "Apply": None},
        "AppConnector": {"Advertise": False},
        "PostureChecking": False,
        "NetfilterKind": "",
        "DriveShares": None,
        "Config": None,
    }


def make_state(**overrides):
    """A logged-out node on a healthy daemon; overrides replace top-level keys."""
    state = {
        "daemon": True,
        "version": "1.102.5",
        "backend_state": "NeedsLogin",
        "have_node_key": False,
        "auth_url": "",
        "prefs": default_prefs(),
        "node": {
            "id": "nK8sNode01CNTRL",
            "public_key": "nodekey:5e1f0000000000000000000000000000000000000000000000000000000001aa",
            "os_hostname": "k8s-worker-01",
            "ipv4": "100.101.102.103",
            "ipv6": "fd7a:115c:a1e0::1",
            "tailnet": "homelab.example",
            "suffix": "tail1234.ts.net",
        },
        "control": {
            "keys": {},
            "oauth_clients": {},
            "tag_owners": [],
            "device_approval": False,
            "approved": False,
            "auto_approve_routes": True,
        },
        "ssh_over_tailscale": False,
        "self_tags": None,
        "peers": [],
        "health": [],
        "calls": [],
    }
    state.update(overrides)
    return state


# ---------------------------------------------------------------- flag parsing (Go `flag`)

BOOL, STRING, DURATION = "bool", "string", "duration"

UP_FLAGS = {
    "qr": BOOL,
    "qr-format": STRING,
    "auth-key": STRING,
    "audience": STRING,
    "client-id": STRING,
    "client-secret": STRING,
    "id-token": STRING,
    "login-server": STRING,
    "accept-routes": BOOL,
    "accept-dns": BOOL,
    "host-routes": BOOL,
    "exit-node": STRING,
    "exit-node-allow-lan-access": BOOL,
    "shields-up": BOOL,
    "ssh": BOOL,
    "advertise-tags": STRING,
    "hostname": STRING,
    "advertise-routes": STRING,
    "advertise-connector": BOOL,
    "advertise-exit-node": BOOL,
    "report-posture": BOOL,
    "operator": STRING,
    "snat-subnet-routes": BOOL,
    "stateful-filtering": BOOL,
    "netfilter-mode": STRING,
    "timeout": DURATION,
    "json": BOOL,
    "reset": BOOL,
    "force-reauth": BOOL,
    "accept-risk": STRING,
}
SET_FLAGS = {
    "nickname": STRING,
    "accept-routes": BOOL,
    "accept-dns": BOOL,
    "exit-node": STRING,
    "exit-node-allow-lan-access": BOOL,
    "shields-up": BOOL,
    "ssh": BOOL,
    "hostname": STRING,
    "advertise-routes": STRING,
    "advertise-exit-node": BOOL,
    "advertise-connector": BOOL,
    "update-check": BOOL,
    "auto-update": BOOL,
    "report-posture": BOOL,
    "webclient": BOOL,
    "operator": STRING,
    "snat-subnet-routes": BOOL,
    "stateful-filtering": BOOL,
    "netfilter-mode": STRING,
    "accept-risk": STRING,
}
STATUS_FLAGS = {
    "json": BOOL,
    "web": BOOL,
    "active": BOOL,
    "self": BOOL,
    "peers": BOOL,
    "browser": BOOL,
    "listen": STRING,
}
DOWN_FLAGS = {"accept-risk": STRING, "reason": STRING}
LOGOUT_FLAGS = {"reason": STRING}
IP_FLAGS = {"4": BOOL, "6": BOOL, "1": BOOL, "assert": STRING}
PREFS_FLAGS = {"pretty": BOOL}


def parse_duration(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", text)
    if text == "0":
        return 0.0
    if not match:
        raise ValueError(text)
    factor = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    return float(match.group(1)) * factor


def parse_flags(name, spec, args):
    """Parse like Go's flag.FlagSet with ExitOnError. Returns (values, visited_in_order, rest)."""
    values, visited = {}, []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        body = arg[2:] if arg.startswith("--") else arg[1:]
        key, has_value, value = body.partition("=")
        if key not in spec:
            raise Exit(2, "flag provided but not defined: -%s\nUSAGE\n  tailscale %s [flags]\n" % (key, name))
        kind = spec[key]
        if kind == BOOL:
            if has_value and value not in ("true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False"):
                raise Exit(2, 'invalid boolean value "%s" for -%s: parse error\n' % (value, key))
            values[key] = (value in ("true", "1", "t", "TRUE", "True")) if has_value else True
        else:
            if not has_value:
                i += 1
                if i >= len(args):
                    raise Exit(2, "flag needs an argument: -%s\n" % key)
                value = args[i]
            if kind == DURATION:
                try:
                    values[key] = parse_duration(value)
                except ValueError:
                    raise Exit(2, 'invalid value "%s" for flag -%s: parse error\n' % (value, key)) from None
            else:
                values[key] = value
        if key not in visited:
            visited.append(key)
        i += 1
    return values, visited, args[i:]


# ---------------------------------------------------------------- helpers mirroring the real client


def check_tag(tag):
    if not tag.startswith("tag:"):
        return "tags must start with 'tag:'"
    name = tag[4:]
    if not name:
        return "tag names must not be empty"
    if not ("a" <= name[0].lower() <= "z"):
        return "tag names must start with a letter, after 'tag:'"
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        return "tag names can only contain numbers, letters, or dashes"
    return None


def calc_advertise_routes(routes_text, exit_node):
    routes = []
    for item in [r for r in routes_text.split(",") if r.strip()] if routes_text else []:
        item = item.strip()
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise Exit(1, "%r is not a valid IP address or CIDR prefix\n" % item) from None
        if str(net) != item and "/" in item:
            raise Exit(1, "%s has non-address bits set; expected %s\n" % (item, net))
        routes.append(str(net))
    if exit_node:
        routes += [r for r in EXIT_ROUTES if r not in routes]
    return routes or None


def shellquote(value):
    return value if re.fullmatch(r"[A-Za-z0-9_./:,@%+=-]+", value) else "'" + value.replace("'", "'\\''") + "'"


def fmt_flag(name, value):
    if value is True:
        return "--" + name
    if value == "":
        return "--" + name + "="
    if value is False:
        return "--%s=false" % name
    return "--%s=%s" % (name, shellquote(str(value)))


def advertised_exit(prefs):
    routes = prefs.get("AdvertiseRoutes") or []
    return all(r in routes for r in EXIT_ROUTES)


def prefs_to_flags(prefs, exit_ip):
    """prefsToFlags of up.go: the up flags that would keep the given prefs."""
    routes = [r for r in prefs.get("AdvertiseRoutes") or [] if r not in EXIT_ROUTES]
    return {
        "ssh": prefs["RunSSH"],
        "login-server": prefs["ControlURL"],
        "accept-routes": prefs["RouteAll"],
        "accept-dns": prefs["CorpDNS"],
        "shields-up": prefs["ShieldsUp"],
        "exit-node": exit_ip,
        "exit-node-allow-lan-access": prefs["ExitNodeAllowLANAccess"],
        "advertise-tags": ",".join(prefs.get("AdvertiseTags") or []),
        "hostname": prefs["Hostname"],
        "operator": prefs.get("OperatorUser", ""),
        "advertise-routes": ",".join(routes),
        "advertise-exit-node": advertised_exit(prefs),
        "advertise-connector": prefs["AppConnector"]["Advertise"],
        "snat-subnet-routes": not prefs["NoSNAT"],
        "stateful-filtering": prefs.get("NoStatefulFiltering") == "false",
        "netfilter-mode": {0: "off", 1: "nodivert", 2: "on"}[prefs["NetfilterMode"]],
        "report-posture": prefs["PostureChecking"],
    }


class Tailscale:
    def __init__(self, state):
        self.state = state
        self.out = []

    # ---- daemon/control side

    @property
    def prefs(self):
        return self.state["prefs"]

    def require_daemon(self, message=CONNECT_ERROR):
        if not self.state["daemon"]:
            raise Exit(1, message + "\n")

    def peer_by(self, value):
        for peer in self.state["peers"]:
            names = (peer["DNSName"].rstrip("."), peer["DNSName"].split(".")[0], peer["HostName"])
            if value in peer["TailscaleIPs"] or value in names:
                return peer
        return None

    def exit_node_ip(self):
        if self.prefs["ExitNodeIP"]:
            return self.prefs["ExitNodeIP"]
        peer = next((p for p in self.state["peers"] if p["ID"] == self.prefs["ExitNodeID"]), None)
        return peer["TailscaleIPs"][0] if peer and self.prefs["ExitNodeID"] else ""

    def set_exit_node(self, prefs, value):
        """ipn.Prefs.SetExitNodeIP."""
        node = self.state["node"]
        if value in (node["ipv4"], node["ipv6"]):
            raise Exit(
                1,
                "cannot use %s as an exit node as it is a local IP address; did you mean --advertise-exit-node?\n"
                % value,
            )
        try:
            ipaddress.ip_address(value)
            ip = value
        except ValueError:
            peer = self.peer_by(value)
            if not peer:
                raise Exit(1, 'invalid value "%s" for --exit-node; must be IP or unique node name\n' % value) from None
            ip = peer["TailscaleIPs"][0]
        prefs["ExitNodeIP"], prefs["ExitNodeID"] = ip, ""

    def settle(self):
        """What tailscaled does with a netmap: exit node IP -> ID, tags and routes from control."""
        if self.state["backend_state"] != "Running":
            return
        if self.prefs["ExitNodeIP"]:
            peer = self.peer_by(self.prefs["ExitNodeIP"])
            if peer:
                self.prefs["ExitNodeID"], self.prefs["ExitNodeIP"] = peer["ID"], ""
        routes = [r for r in self.prefs.get("AdvertiseRoutes") or [] if r not in EXIT_ROUTES]
        self.state["primary_routes"] = routes if self.state["control"]["auto_approve_routes"] else []

    def admin_url(self):
        control = self.prefs["ControlURL"] or DEFAULT_CONTROL_URL
        base = "https://login.tailscale.com" if control in LOGIN_SYNONYMS else control
        return base + "/admin/machines"

    def resolve_auth_key(self, value, tags):
        if value.startswith("file:"):
            path = value[5:]
            try:
                with open(path) as handle:
                    value = handle.read().strip()
            except OSError as exc:
                raise Exit(1, "open %s: %s\n" % (path, exc.strerror.lower())) from None
        if not value.startswith("tskey-client-"):
            return value, {}
        if not tags:
            raise Exit(1, "oauth authkeys require --advertise-tags\n")
        secret, query = ([*value.split("?", 1), ""])[:2]
        attrs = dict(part.split("=", 1) for part in query.split("&") if part) if query else {}
        for key in attrs:
            if key not in ("ephemeral", "preauthorized", "baseURL"):
                raise Exit(1, 'unknown attribute "%s"\n' % key)
        client = self.state["control"]["oauth_clients"].get(secret)
        if client is None:
            raise Exit(
                1,
                'oauth2: "invalid_client" "Client authentication failed"\n',
            )
        missing = [t for t in tags if t not in client["tags"]]
        if missing:
            raise Exit(1, 'Status: 400, Message: "requested tags %s are invalid or not permitted"\n' % missing)
        return "oauth-generated", {
            "ephemeral": attrs.get("ephemeral", "true") == "true",
            "preauthorized": attrs.get("preauthorized", "false") == "true",
        }

    def login(self, auth_key, key_attrs):
        """Register with control. Returns the backend state reached."""
        control = self.state["control"]
        if auth_key == "oauth-generated":
            info = dict(key_attrs, expired=False)
        else:
            info = control["keys"].get(auth_key)
            if info is None:
                self.state["backend_state"] = "NeedsLogin"
                raise Exit(1, "backend error: invalid key: API key does not exist\n\n")
            if info.get("expired"):
                self.state["backend_state"] = "NeedsLogin"
                raise Exit(1, "backend error: invalid key: API key %s has expired\n\n" % auth_key.split("-")[2])
        self.state["have_node_key"] = True
        self.prefs["Config"] = {
            "PrivateNodeKey": "privkey:" + "0" * 64,
            "OldPrivateNodeKey": "privkey:" + "0" * 64,
            "UserProfile": {"ID": 7, "LoginName": "tagged-devices", "DisplayName": "tagged-devices"},
            "NetworkLockKey": "nlpriv:" + "0" * 64,
            "NodeID": self.state["node"]["id"],
        }
        approved = info.get("preauthorized") or control["approved"] or not control["device_approval"]
        return "Running" if approved else "NeedsMachineAuth"

    def apply_tags(self, tags):
        denied = [t for t in tags or [] if t not in self.state["control"]["tag_owners"]]
        if denied:
            raise Exit(1, "backend error: requested tags [%s] are invalid or not permitted\n" % " ".join(denied))
        self.state["self_tags"] = list(tags) if tags else None

    # ---- output

    def self_status(self):
        node = self.state["node"]
        running = self.state["backend_state"] in ("Running", "Starting")
        host = self.prefs["Hostname"] or node["os_hostname"]
        logged_in = self.state["have_node_key"]
        status = {
            "ID": node["id"] if logged_in else "",
            "PublicKey": node["public_key"],
            "HostName": host,
            "DNSName": ("%s.%s." % (host.lower(), node["suffix"])) if logged_in else "",
            "OS": "linux",
            "UserID": 7 if logged_in else 0,
            "TailscaleIPs": [node["ipv4"], node["ipv6"]] if logged_in else None,
            "AllowedIPs": ([node["ipv4"] + "/32", node["ipv6"] + "/128"] if logged_in else None),
            "Tags": self.state["self_tags"],
            "PrimaryRoutes": self.state.get("primary_routes") or None,
            "Addrs": ["192.0.2.10:41641"] if running else None,
            "CurAddr": "",
            "Relay": "fra" if running else "",
            "RxBytes": 0,
            "TxBytes": 0,
            "Created": "2026-11-01T09:00:00Z" if logged_in else ZERO_TIME,
            "LastWrite": ZERO_TIME,
            "LastSeen": ZERO_TIME,
            "LastHandshake": ZERO_TIME,
            "Online": running,
            "ExitNode": False,
            "ExitNodeOption": False,
            "Active": False,
            "PeerAPIURL": ["http://%s:56789" % node["ipv4"]] if running else None,
            "InNetworkMap": running,
            "InMagicSock": False,
            "InEngine": False,
        }
        return {k: v for k, v in status.items() if v is not None or k not in ("AllowedIPs", "Tags", "PrimaryRoutes")}

    def status_json(self):
        node = self.state["node"]
        backend = self.state["backend_state"]
        connected = self.state["have_node_key"] and backend in ("Running", "Starting")
        result = {
            "Version": self.state["version"] + "-t0000000-g0000000",
            "TUN": True,
            "BackendState": backend,
        }
        if self.state["have_node_key"]:
            result["HaveNodeKey"] = True
        result.update(
            {
                "AuthURL": self.state["auth_url"],
                "TailscaleIPs": [node["ipv4"], node["ipv6"]] if self.state["have_node_key"] else None,
                "Self": self.self_status(),
                "Health": self.state["health"],
                "MagicDNSSuffix": node["suffix"] if connected else "",
                "CurrentTailnet": (
                    {"Name": node["tailnet"], "MagicDNSSuffix": node["suffix"], "MagicDNSEnabled": True}
                    if connected
                    else None
                ),
                "CertDomains": None,
                "Peer": {p["PublicKey"]: p for p in self.state["peers"]} if connected and self.state["peers"] else None,
                "User": None,
                "ClientVersion": None,
            }
        )
        return result

    # ---- subcommands

    def cmd_status(self, args):
        values, rest = parse_flags("status", STATUS_FLAGS, args)[::2]
        if rest:
            raise Exit(1, "unexpected non-flag arguments to 'tailscale status'\n")
        self.require_daemon()
        if values.get("json"):
            self.out.append(json.dumps(self.status_json(), indent=2))
            return
        backend = self.state["backend_state"]
        descriptions = {
            "Stopped": "Tailscale is stopped.",
            "NeedsLogin": "Logged out."
            + ("\nLog in at: %s" % self.state["auth_url"] if self.state["auth_url"] else ""),
            "NeedsMachineAuth": "Machine is not yet approved by tailnet admin.",
        }
        if backend not in ("Running", "Starting"):
            raise Exit(1, stdout=descriptions.get(backend, "unexpected state: %s" % backend) + "\n")
        me = self.self_status()
        self.out.append(
            "%-15s %-20s %-12s %-7s -\n"
            % (me["TailscaleIPs"][0], me["DNSName"].split(".")[0], "tagged-devices", "linux")
        )

    def cmd_ip(self, args):
        values = parse_flags("ip", IP_FLAGS, args)[0]
        self.require_daemon()
        if not self.state["have_node_key"]:
            raise Exit(1, "no current Tailscale IPs; state: %s\n" % self.state["backend_state"])
        node = self.state["node"]
        ips = [node["ipv4"], node["ipv6"]]
        if values.get("4"):
            ips = ips[:1]
        elif values.get("6"):
            ips = ips[1:]
        self.out.append("".join(ip + "\n" for ip in ips))

    def cmd_debug(self, args):
        if not args or args[0] != "prefs":
            raise Exit(1, "tailscale debug: unknown subcommand: %s\n" % (args[0] if args else ""))
        parse_flags("debug prefs", PREFS_FLAGS, args[1:])
        self.require_daemon(LOCALAPI_ERROR)
        self.out.append(json.dumps(self.prefs, indent="\t") + "\n")

    def up_prefs(self, values):
        """prefsFromUpArgs of up.go."""
        tags = [t for t in values.get("advertise-tags", "").split(",") if t] if values.get("advertise-tags") else []
        for tag in tags:
            reason = check_tag(tag)
            if reason:
                raise Exit(1, 'tag: "%s": %s\n' % (tag, reason))
        prefs = dict(default_prefs(), Config=self.prefs["Config"])
        prefs.update(
            ControlURL=values.get("login-server", DEFAULT_CONTROL_URL),
            WantRunning=True,
            RouteAll=values.get("accept-routes", False),
            CorpDNS=values.get("accept-dns", True),
            ShieldsUp=values.get("shields-up", False),
            RunSSH=values.get("ssh", False),
            AdvertiseRoutes=calc_advertise_routes(
                values.get("advertise-routes", ""), values.get("advertise-exit-node")
            ),
            AdvertiseTags=tags or None,
            Hostname=values.get("hostname", ""),
            OperatorUser=values.get("operator", ""),
            NoSNAT=not values.get("snat-subnet-routes", True),
            NoStatefulFiltering="false" if values.get("stateful-filtering") else "true",
            NetfilterMode={"off": 0, "nodivert": 1, "on": 2}[values.get("netfilter-mode", "on")],
            PostureChecking=values.get("report-posture", False),
            AppConnector={"Advertise": values.get("advertise-connector", False)},
        )
        if values.get("exit-node"):
            self.set_exit_node(prefs, values["exit-node"])
        if not prefs["OperatorUser"]:
            prefs.pop("OperatorUser")
        return prefs

    def ssh_risk(self, want, have, accepted):
        if self.state["ssh_over_tailscale"] and want != have and "lose-ssh" not in (accepted or "").split(","):
            self.out.append(
                "You are connected over Tailscale; this action will reroute SSH traffic to Tailscale SSH "
                "and will result in your session disconnecting.\nTo skip this warning, use --accept-risk=lose-ssh\n"
                "Continue? [y/N] "
            )
            raise Exit(1, "aborted, no changes made\n", stdout="".join(self.out))

    def wait_running(self, timeout, message):
        """`up` prints the URL to visit, then waits for Running until --timeout (0: forever)."""
        if timeout:
            raise Exit(1, message + TIMEOUT_ERROR + "\n")
        time.sleep(float(os.environ.get("TAILSCALE_DOUBLE_BLOCK", "3600")))
        raise Exit(1, message + "context canceled\n")

    def cmd_up(self, args):
        values, visited, rest = parse_flags("up", UP_FLAGS, args)
        if rest:
            raise Exit(1, 'too many non-flag arguments: "%s"\n' % rest)
        self.require_daemon()
        prefs = self.up_prefs(values)
        cur = self.prefs
        backend = self.state["backend_state"]
        simple_up = False
        if not values.get("reset") and cur["ControlURL"]:
            if "operator" not in visited and "OperatorUser" in cur and cur["OperatorUser"] == os.environ.get("USER"):
                prefs["OperatorUser"] = cur["OperatorUser"]
            login = (cur.get("Config") or {}).get("UserProfile", {}).get("LoginName")
            if not visited and login and backend != "NeedsLogin":
                simple_up = True
            else:
                flags_cur = prefs_to_flags(cur, self.exit_node_ip())
                flags_new = prefs_to_flags(prefs, prefs["ExitNodeIP"])
                missing = []
                for name, value in flags_cur.items():
                    if name in visited or value == flags_new[name]:
                        continue
                    if name == "login-server" and value in LOGIN_SYNONYMS and flags_new[name] in LOGIN_SYNONYMS:
                        continue
                    missing.append(fmt_flag(name, value))
                if missing:
                    explicit = []
                    for name in sorted(visited):
                        value = values[name]
                        if isinstance(value, bool):
                            explicit.append("--" + name if value else "--%s=false" % name)
                        elif UP_FLAGS[name] == DURATION:
                            explicit.append("--%s=%s" % (name, args_value(args, name)))
                        else:
                            explicit.append(fmt_flag(name, value))
                    text = ACCIDENTAL_UP_PREFIX + "".join(" " + a for a in explicit + sorted(missing)) + "\n\n"
                    raise Exit(1, text + "\n")
        control_changed = cur["ControlURL"] != prefs["ControlURL"] and not (
            cur["ControlURL"] in LOGIN_SYNONYMS and prefs["ControlURL"] in LOGIN_SYNONYMS
        )
        if control_changed and backend == "Running" and not values.get("force-reauth"):
            raise Exit(1, "can't change --login-server without --force-reauth\n")
        self.ssh_risk(prefs["RunSSH"], cur["RunSSH"], values.get("accept-risk"))
        tags_changed = (cur["AdvertiseTags"] or None) != prefs["AdvertiseTags"]
        timeout = values.get("timeout", 0)
        just_edit = not (values.get("force-reauth") or values.get("auth-key") or control_changed or tags_changed)
        if backend == "Running" and just_edit:
            for name in visited:
                copy_pref(cur, prefs, name)
            cur["WantRunning"] = True
            self.settle()
            return
        if simple_up:
            cur["WantRunning"] = True
            self.state["backend_state"] = "Running" if self.approved() else "NeedsMachineAuth"
            if self.state["backend_state"] == "NeedsMachineAuth":
                self.wait_running(
                    timeout, "\nTo approve your machine, visit (as admin):\n\n\t%s\n\n" % self.admin_url()
                )
            self.settle()
            return
        # LocalClient.Start: the prefs are saved before control answers.
        prefs["LoggedOut"] = False
        self.state["prefs"] = prefs
        auth_key, attrs = self.resolve_auth_key(values.get("auth-key", ""), prefs["AdvertiseTags"])
        if auth_key:
            reached = self.login(auth_key, attrs)
        elif self.state["have_node_key"]:
            reached = "Running" if self.approved() else "NeedsMachineAuth"
        else:
            self.state["auth_url"] = "https://login.tailscale.com/a/1a2b3c4d5e6f"
            self.wait_running(timeout, "\nTo authenticate, visit:\n\n\t%s\n\n" % self.state["auth_url"])
        self.apply_tags(prefs["AdvertiseTags"])
        self.state["auth_url"] = ""
        self.state["backend_state"] = reached
        if reached == "NeedsMachineAuth":
            self.wait_running(timeout, "\nTo approve your machine, visit (as admin):\n\n\t%s\n\n" % self.admin_url())
        self.settle()
        if values.get("json"):
            self.out.append(json.dumps({"BackendState": "Running"}, indent=2) + "\n")
        self.out.extend(w + "\n" for w in self.state["health"])

    def approved(self):
        control = self.state["control"]
        return control["approved"] or not control["device_approval"]

    def cmd_set(self, args):
        values, visited, rest = parse_flags("set", SET_FLAGS, args)
        if rest:
            raise Exit(1, 'too many non-flag arguments: "%s"\n' % rest)
        self.require_daemon(LOCALAPI_ERROR)
        if not visited:
            return
        cur = self.prefs
        new = dict(cur)
        simple = {
            "accept-routes": "RouteAll",
            "accept-dns": "CorpDNS",
            "exit-node-allow-lan-access": "ExitNodeAllowLANAccess",
            "shields-up": "ShieldsUp",
            "ssh": "RunSSH",
            "hostname": "Hostname",
            "operator": "OperatorUser",
            "webclient": "RunWebClient",
            "report-posture": "PostureChecking",
        }
        for name in visited:
            if name in simple:
                new[simple[name]] = values[name]
        if "exit-node" in visited:
            if values["exit-node"]:
                self.set_exit_node(new, values["exit-node"])
            else:
                new["ExitNodeIP"], new["ExitNodeID"] = "", ""
        if "snat-subnet-routes" in visited:
            new["NoSNAT"] = not values["snat-subnet-routes"]
        if "advertise-routes" in visited or "advertise-exit-node" in visited:
            exit_node = values["advertise-exit-node"] if "advertise-exit-node" in visited else advertised_exit(cur)
            if "advertise-routes" in visited:
                new["AdvertiseRoutes"] = calc_advertise_routes(values["advertise-routes"], exit_node)
            else:
                kept = [r for r in cur.get("AdvertiseRoutes") or [] if r not in EXIT_ROUTES]
                new["AdvertiseRoutes"] = (kept + (EXIT_ROUTES if exit_node else [])) or None
        if "ssh" in visited:
            self.ssh_risk(new["RunSSH"], cur["RunSSH"], values.get("accept-risk"))
        self.state["prefs"] = new
        self.settle()

    def cmd_down(self, args):
        values, rest = parse_flags("down", DOWN_FLAGS, args)[::2]
        if rest:
            raise Exit(1, "too many non-flag arguments: %s\n" % rest)
        self.require_daemon()
        if self.state["backend_state"] == "Stopped":
            self.out.append("Tailscale was already stopped.\n")
            return
        if self.state["ssh_over_tailscale"] and "lose-ssh" not in values.get("accept-risk", "").split(","):
            self.out.append(
                "You are connected over Tailscale; this action will disconnect your current SSH session.\n"
                "To skip this warning, use --accept-risk=lose-ssh\nContinue? [y/N] "
            )
            raise Exit(1, "aborted, no changes made\n", stdout="".join(self.out))
        self.prefs["WantRunning"] = False
        if self.state["have_node_key"]:
            self.state["backend_state"] = "Stopped"

    def cmd_logout(self, args):
        parse_flags("logout", LOGOUT_FLAGS, args)
        self.require_daemon(LOCALAPI_ERROR)
        self.prefs.update(LoggedOut=True, WantRunning=False, Config=None, ExitNodeID="")
        self.state.update(backend_state="NeedsLogin", have_node_key=False, self_tags=None, primary_routes=[])

    def cmd_version(self, args):
        if "--json" in args:
            # as `tailscale version --json` prints it (tests/fixtures/tailscale/<minor>/version.json)
            version = self.state["version"]
            self.out.append(
                json.dumps({"majorMinorPatch": version, "short": version, "long": version, "cap": 142}, indent="\t")
                + "\n"
            )
            return
        self.out.append(
            "%s\n  tailscale commit: 0000000\n  other commit: 0000000\n  go version: go1.25.3\n" % self.state["version"]
        )

    def run(self, argv):
        rest = parse_flags("", {"socket": STRING}, argv)[2]
        if not rest:
            raise Exit(0, "USAGE\n  tailscale [flags] <subcommand> [command flags]\n")
        command = {
            "status": self.cmd_status,
            "ip": self.cmd_ip,
            "debug": self.cmd_debug,
            "up": self.cmd_up,
            "set": self.cmd_set,
            "down": self.cmd_down,
            "logout": self.cmd_logout,
            "version": self.cmd_version,
        }.get(rest[0])
        if command is None:
            raise Exit(1, "tailscale: unknown subcommand: %s\n" % rest[0])
        command(rest[1:])


def args_value(args, name):
    for i, arg in enumerate(args):
        body = arg.lstrip("-")
        if body.startswith(name + "="):
            return body.split("=", 1)[1]
        if body == name and i + 1 < len(args):
            return args[i + 1]
    return ""


def copy_pref(cur, new, flag_name):
    """Apply one visited `up` flag to the current prefs (the EditPrefs mask of a running node)."""
    fields = {
        "accept-routes": ["RouteAll"],
        "accept-dns": ["CorpDNS"],
        "shields-up": ["ShieldsUp"],
        "ssh": ["RunSSH"],
        "hostname": ["Hostname"],
        "operator": ["OperatorUser"],
        "exit-node": ["ExitNodeIP", "ExitNodeID"],
        "exit-node-allow-lan-access": ["ExitNodeAllowLANAccess"],
        "advertise-routes": ["AdvertiseRoutes"],
        "advertise-exit-node": ["AdvertiseRoutes"],
        "snat-subnet-routes": ["NoSNAT"],
        "stateful-filtering": ["NoStatefulFiltering"],
        "netfilter-mode": ["NetfilterMode"],
        "report-posture": ["PostureChecking"],
        "advertise-connector": ["AppConnector"],
        "login-server": ["ControlURL"],
    }
    for field in fields.get(flag_name, []):
        if field in new:
            cur[field] = new[field]
        else:
            cur.pop(field, None)


def main(argv=None):
    path = os.environ.get("TAILSCALE_DOUBLE_STATE")
    if not path:
        sys.stderr.write("TAILSCALE_DOUBLE_STATE is not set (test stand-in of the tailscale client)\n")
        return 3
    with open(path) as handle:
        state = json.load(handle)
    argv = sys.argv[1:] if argv is None else argv
    state["calls"].append(argv)
    cli = Tailscale(state)
    code, stdout, stderr = 0, None, ""
    try:
        cli.run(argv)
    except Exit as exc:
        code, stdout, stderr = exc.code, exc.stdout or None, exc.stderr
    with open(path, "w") as handle:
        json.dump(state, handle, indent=1)
    sys.stdout.write(stdout if stdout is not None else "".join(cli.out))
    sys.stderr.write(stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
