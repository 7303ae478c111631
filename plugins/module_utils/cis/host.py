# -*- coding: utf-8 -*-
# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about one host (or a filesystem tree under `root`), read from files and cached.

Every reader returns plain data, raises `Missing` when the thing it looks for does not exist
and lets OSError/ValueError through for unreadable or malformed sources (the engine turns
those into WARN). A command runs only where no file can tell, once, and only on the live
host (root "/").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import glob
import grp
import os
import pwd
import re
import shlex
import stat

from ansible_collections.homelab.k8s.plugins.module_utils.cis import miniyaml, sshd
from ansible_collections.homelab.k8s.plugins.module_utils.cis.compare import Unknown

SYSCTL_DIRS = ("etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d", "lib/sysctl.d")
MODPROBE_DIRS = ("etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d")
# systemd's unit search path (system scope), in order; the first two are where enablement links live.
UNIT_DIRS = (
    "etc/systemd/system",
    "run/systemd/system",
    "usr/local/lib/systemd/system",
    "usr/lib/systemd/system",
    "lib/systemd/system",
)
INSTALL_RULES = ("WantedBy", "RequiredBy", "UpheldBy", "Alias")
DISABLED_INSTALL = ("/bin/false", "/bin/true", "/usr/bin/false", "/usr/bin/true")
KUBELET_DROPINS = ("etc/systemd/system/kubelet.service.d/*.conf", "usr/lib/systemd/system/kubelet.service.d/*.conf")
KUBELET_ENV_FILES = ("var/lib/kubelet/kubeadm-flags.env", "etc/default/kubelet", "etc/sysconfig/kubelet")
MANIFESTS = {
    "apiserver": ("etc/kubernetes/manifests/kube-apiserver.yaml", "kube-apiserver"),
    "controllermanager": ("etc/kubernetes/manifests/kube-controller-manager.yaml", "kube-controller-manager"),
    "scheduler": ("etc/kubernetes/manifests/kube-scheduler.yaml", "kube-scheduler"),
    "etcd": ("etc/kubernetes/manifests/etcd.yaml", "etcd"),
    "proxy": (None, "kube-proxy"),
}


# Kernel configuration symbol of each module the benchmark disables.
KMOD_SYMBOLS = {
    "cramfs": "CRAMFS",
    "freevxfs": "VXFS_FS",
    "hfs": "HFS_FS",
    "hfsplus": "HFSPLUS_FS",
    "jffs2": "JFFS2_FS",
    "overlay": "OVERLAY_FS",
    "squashfs": "SQUASHFS",
    "udf": "UDF_FS",
    "usb_storage": "USB_STORAGE",
    "dccp": "IP_DCCP",
    "tipc": "TIPC",
    "rds": "RDS",
    "sctp": "IP_SCTP",
}


class Missing(Exception):
    """The audited thing does not exist on this host."""


class Unobservable(Missing):
    """The audited thing cannot be observed from here (a command under another root, a file sshd needs but
    its package ships): the control cannot be judged, which is WARN, not FAIL."""


# Where a missing file comes from: path prefix -> the package that ships it.
PATH_PACKAGES = (
    ("/etc/audit", "auditd"),
    ("/var/log/audit", "auditd"),
    ("/sbin/au", "auditd"),
    ("/etc/aide", "aide"),
    ("/var/lib/aide", "aide"),
    ("/etc/chrony", "chrony"),
    ("/etc/ssh/sshd_config", "openssh-server"),
    ("/etc/ssh/ssh_host_", "openssh-server"),
    ("/etc/postfix", "postfix"),
    ("/etc/nftables.conf", "nftables"),
    ("/etc/sudoers", "sudo"),
    ("/etc/security/pwquality", "libpam-pwquality"),
    ("/etc/apparmor", "apparmor"),
    ("/boot/grub", "grub-common"),
    ("/etc/cron", "cron"),
    ("/etc/crontab", "cron"),
    ("/etc/at.", "at"),
)


class Decided(Exception):
    """A fact that settles a control by itself (status PASS or FAIL), e.g. a module the kernel cannot load."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


def sysctl_key(key):
    """Dotted sysctl name as systemd normalises it: `net/ipv4/ip_forward` -> `net.ipv4.ip_forward` (dots and
    slashes swap when the first separator is a slash, so `net/ipv4/conf/eth0.100/rp_filter` keeps its dot
    as a slash: `net.ipv4.conf.eth0/100.rp_filter`)."""
    first = re.search(r"[./]", key)
    if first and first.group(0) == "/":
        return key.translate(str.maketrans("/.", "./"))
    return key


def _kernel_params(line, names):
    """Requested kernel parameters of a command line (`name=value`, or `name` alone as an empty value)."""
    params = {}
    for word in line.split():
        if word == "--":
            break
        name, _sep, value = word.partition("=")
        if name in names:
            params[name] = value
    return params


def unique(items):
    """Items in order, without repeats."""
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _module_name(line):
    """`kernel/fs/udf/udf.ko.xz: deps` -> `udf`."""
    name = os.path.basename(line.split(":", 1)[0].strip())
    return re.sub(r"\.ko(\.\w+)?$", "", name).replace("-", "_")


def _version_key(release):
    return [int(part) if part.isdigit() else part for part in re.split(r"[.-]", release)]


def _sysctl_glob(pattern):
    """A sysctl.d glob as glob(3) applies it to /proc/sys paths: `*` and `?` do not cross a dot."""
    parts = {"*": "[^.]*", "?": "[^.]"}
    return re.compile("^%s$" % "".join(parts.get(c) or re.escape(c) for c in pattern))


def flags_from_args(args):
    """Map `--name=value` / `--name value` / `--bool` arguments to {"--name": "value"}."""
    flags = {}
    args = list(args)
    for index, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        name, sep, value = arg.partition("=")
        if not sep:
            nxt = args[index + 1] if index + 1 < len(args) else ""
            value = nxt if nxt and not nxt.startswith("-") else "true"
        flags[name] = value
    return flags


class Host:
    """Reads facts under `root`; `live` means root is "/" so /proc and commands describe this host."""

    BIN_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")

    def __init__(self, root="/", container=None, run_command=None):
        self.root = os.path.abspath(root or "/")
        self.live = self.root == "/"
        self.run_command = run_command
        self._cache = {}
        if container is not None:
            self.container, self.container_reason = bool(container), "the container option" if container else ""
        elif self.live:
            self.container, self.container_reason = self.detect_container()
        else:
            self.container, self.container_reason = False, ""

    # -- generic helpers ---------------------------------------------------------------
    def path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def exists(self, path):
        return os.path.lexists(self.path(path))

    def resolve(self, path):
        """Full path of `path` with symlinks followed inside root (an absolute link target is under root too)."""
        full = self.path(path)
        for _hop in range(40):
            if not os.path.islink(full):
                return full
            target = os.readlink(full)
            full = self.path(target) if target.startswith("/") else os.path.join(os.path.dirname(full), target)
        raise ValueError("%s: too many levels of symbolic links" % path)

    def cached(self, key, compute):
        if key not in self._cache:
            try:
                self._cache[key] = (True, compute())
            except (Missing, OSError, ValueError) as exc:
                self._cache[key] = (False, exc)
        ok, value = self._cache[key]
        if not ok:
            raise value
        return value

    def read(self, path):
        def compute():
            full = self.resolve(path)
            if not os.path.exists(full):
                raise Missing("%s does not exist" % path)
            with open(full, "rb") as handle:
                return handle.read().decode("utf-8", "replace")

        return self.cached(("read", path), compute)

    def glob(self, pattern):
        """Sorted paths, as seen from root, matching a glob under root (`**` recurses)."""
        return ["/" + os.path.relpath(p, self.root) for p in sorted(glob.glob(self.path(pattern), recursive=True))]

    def why_missing(self, paths):
        """` (auditd is not installed)` when the package that ships one of `paths` is absent, else ``."""
        for path in paths:
            path = "/" + path.lstrip("/")
            for prefix, package in PATH_PACKAGES:
                if path.startswith(prefix):
                    try:
                        installed = package in self.packages()
                    except (Missing, OSError):
                        return ""
                    return "" if installed else " (%s is not installed)" % package
        return ""

    def files(self, patterns):
        """Paths matching a glob or a list of globs, in order without repeats; Missing if none."""
        patterns = patterns if isinstance(patterns, list) else [patterns]
        found = []
        for pattern in patterns:
            found.extend(p for p in self.glob(pattern) if p not in found)
        if not found:
            raise Missing("nothing matches %s%s" % (" ".join(patterns), self.why_missing(patterns)))
        return found

    def config_files(self, directories, extra=None):
        """`*.conf` of drop-in directories in name order; a name in an earlier directory hides later ones.

        `extra` maps a file name to a path read under that name when no directory has it (systemd-sysctl
        reads /etc/sysctl.conf as 99-sysctl.conf). A file linked to /dev/null masks its name: not read.
        """
        chosen = {}
        for directory in directories:
            for path in self.glob(directory + "/*.conf"):
                chosen.setdefault(os.path.basename(path), path)
        for name, path in (extra or {}).items():
            if self.exists(path):
                chosen.setdefault(name, path)
        return [chosen[name] for name in sorted(chosen) if not self._masked(chosen[name])]

    def _masked(self, path):
        full = self.path(path)
        return os.path.islink(full) and os.readlink(full) == "/dev/null"

    def run(self, argv):
        """Run a command on the live host once; Missing when it is not installed or root is not "/"."""

        def compute():
            if not self.live or self.run_command is None:
                raise Unobservable("cannot run %s under root %s" % (argv[0], self.root))
            if not any(os.access(os.path.join(d, argv[0]), os.X_OK) for d in self.BIN_DIRS):
                raise Missing("%s is not installed" % argv[0])
            rc, out, err = self.run_command(list(argv))
            return {"rc": rc, "stdout": out, "stderr": err}

        return self.cached(("run", tuple(argv)), compute)

    def detect_container(self):
        """(is a container, why) from what systemd-detect-virt and container managers leave behind.

        Signals: /run/.containerenv (podman), /.dockerenv (docker), /run/systemd/container and
        /run/host/container-manager (systemd-nspawn, podman, LXC), `container=` in the environment of PID 1,
        a container cgroup of PID 1 (docker, kubepods, libpod, lxc, containerd), OpenVZ (/proc/vz without
        /proc/bc), and WSL (its kernel release). A running kernel this system did not install (no
        /lib/modules/<release>, /boot/config-<release> or linux-image package) is named as a supporting
        reason only: a virtual machine booted with a kernel from its hypervisor has one too.
        """
        reasons = []
        for path, manager in (("run/.containerenv", "podman"), (".dockerenv", "docker")):
            if os.path.exists(self.path(path)):
                reasons.append("%s (/%s)" % (manager, path))
        for path in ("run/systemd/container", "run/host/container-manager"):
            if os.path.isfile(self.path(path)):
                reasons.append("%s (/%s)" % (self._proc_text(path).strip() or "container", path))
        for item in self._proc_text("proc/1/environ").split("\0"):
            if item.startswith("container="):
                reasons.append("%s (container= of PID 1)" % item[10:])
        found = re.search(r"/(docker|kubepods|libpod|lxc|containerd|crio)[-/.]", self._proc_text("proc/1/cgroup"))
        if found:
            reasons.append("%s (cgroup of PID 1)" % found.group(1))
        if os.path.exists(self.path("proc/vz")) and not os.path.exists(self.path("proc/bc")):
            reasons.append("openvz (/proc/vz)")
        if re.search(r"microsoft|wsl", self._proc_text("proc/sys/kernel/osrelease"), re.IGNORECASE):
            reasons.append("wsl (kernel release)")
        if reasons and self._foreign_kernel():
            reasons.append("the running kernel is not installed here")
        return bool(reasons), ", ".join(unique(reasons))

    def _proc_text(self, path):
        """Text of a file that may be unreadable (another process's environment): empty when it cannot be read."""
        try:
            with open(self.path(path), "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _foreign_kernel(self):
        release = os.uname().release
        if os.path.exists(self.path("lib/modules/" + release)) or self.glob("boot/*-" + release):
            return False
        with contextlib.suppress(Missing, OSError):
            return not any(name.startswith("linux-image-") for name in self.packages())
        return True

    # -- files ---------------------------------------------------------------------------
    def stat(self, path):
        def compute():
            try:
                info = os.stat(self.resolve(path))
            except FileNotFoundError:
                raise Missing("%s does not exist%s" % (path, self.why_missing([path]))) from None
            return {
                "mode": "%o" % stat.S_IMODE(info.st_mode),
                "owner": _name(pwd.getpwuid, info.st_uid, self.passwd_names()),
                "group": _name(grp.getgrgid, info.st_gid, self.group_names()),
                "type": "directory" if stat.S_ISDIR(info.st_mode) else "file",
            }

        return self.cached(("stat", path), compute)

    def _id_names(self, path):
        names = {}
        try:
            text = self.read(path)
        except Missing:
            return names
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) > 2 and fields[2].isdigit():
                names.setdefault(int(fields[2]), fields[0])
        return names

    def passwd_names(self):
        return None if self.live else self.cached(("ids", "passwd"), lambda: self._id_names("etc/passwd"))

    def group_names(self):
        return None if self.live else self.cached(("ids", "group"), lambda: self._id_names("etc/group"))

    def keyvalue(self, pattern, separator=None, first=False, lower=False):
        """`key value` or `key=value` lines of one or more files; later files and lines win unless `first`."""
        result = {}
        for path in self.files(pattern):
            for line in self.read(path).splitlines():
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                key, _sep, value = line.partition(separator) if separator else _split_ws(line)
                key, value = key.strip(), value.strip().strip('"')
                key = key.lower() if lower else key
                if key and not (first and key in result):
                    result[key] = value
        return result

    def ini(self, path, dropins=None):
        """systemd-style INI: `Section.Key` -> value, drop-ins (a glob) applied after the main file."""
        result = {}
        paths = [path] if self.exists(path) else []
        if dropins:
            paths += self.glob(dropins)
        if not paths:
            raise Missing("%s does not exist" % path)
        for current in paths:
            section = ""
            for line in self.read(current).splitlines():
                line = line.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1]
                elif "=" in line:
                    key, _sep, value = line.partition("=")
                    result["%s.%s" % (section, key.strip()) if section else key.strip()] = value.strip()
        return result

    def document(self, path):
        """A YAML or JSON file (JSON is YAML) parsed into data."""
        return self.cached(("doc", path), lambda: miniyaml.load(self.read(path)))

    # -- packages, units, kernel -------------------------------------------------------------
    def packages(self):
        def compute():
            installed = {}
            for block in self.read("var/lib/dpkg/status").split("\n\n"):
                fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", block, re.MULTILINE))
                if fields.get("Status", "").endswith(" installed"):
                    installed[fields["Package"]] = fields.get("Version", "")
            return installed

        return self.cached(("packages",), compute)

    def package(self, name):
        installed = self.packages()
        return {"installed": name in installed, "version": installed.get(name, "")}

    def systemd_running(self):
        """None when systemd runs this host (live, /run/systemd/system exists), else the reason it does not."""
        if not self.live:
            return "no running system under root %s" % self.root
        if os.path.isdir("/run/systemd/system"):
            return None
        try:
            with open("/proc/1/comm") as handle:
                return "systemd is not running (PID 1 is %s)" % handle.read().strip()
        except OSError:
            return "systemd is not running"

    def unit(self, name):
        """Unit state: `enabled` (the word `systemctl is-enabled` prints) and `active`.

        With systemd running: one `systemctl show`. Otherwise `enabled` is worked out from the unit
        files as systemctl does offline (masked, static, indirect, alias, enabled-runtime, ...) and
        `active` is Unknown: nothing can tell whether the daemon runs.
        """
        reason = self.systemd_running()
        if reason is None and self.run_command is not None:
            state = self.run(("systemctl", "show", "--property=LoadState,ActiveState,UnitFileState", name))
            fields = dict(re.findall(r"^(\w+)=(.*)$", state["stdout"], re.MULTILINE))
            load = fields.get("LoadState", "not-found")
            return {
                "load": load,
                "enabled": fields.get("UnitFileState") or ("masked" if load == "masked" else "not-found"),
                "active": fields.get("ActiveState", "inactive"),
            }
        facts = self.cached(("unit", name), lambda: self._unit_from_files(name))
        return dict(facts, active=Unknown(reason or "systemctl cannot run here"))

    def _unit_file(self, name):
        """(directory, path) of the first unit file of `name` on the search path (templates for instances)."""
        names = [name]
        prefix, at, rest = name.partition("@")
        if at and rest and not rest.startswith("."):
            names.append("%s@.%s" % (prefix, rest.rpartition(".")[2]))
        for candidate in names:
            for directory in UNIT_DIRS:
                full = self.path(directory + "/" + candidate)
                if os.path.lexists(full):
                    return directory, full
        return None, None

    def _unit_from_files(self, name):
        """`systemctl is-enabled` of a unit from its files (systemd's install.c, unit_file_lookup_state)."""
        directory, full = self._unit_file(name)
        if full is None:
            return {"load": "not-found", "enabled": "not-found"}
        looked_up = os.path.basename(full)  # the name itself, or the template of an instance
        masked = os.path.islink(full) and os.readlink(full) == "/dev/null"
        if masked or (not os.path.islink(full) and os.path.isfile(full) and not os.path.getsize(full)):
            return {"load": "masked", "enabled": "masked-runtime" if directory.startswith("run/") else "masked"}
        target = self.resolve(directory + "/" + looked_up)
        if not os.path.isfile(target):
            return {"load": "not-found", "enabled": "not-found"}
        real_name = os.path.basename(target)
        if real_name != looked_up:
            return {"load": "loaded", "enabled": "alias"}
        links = self._enablement_links(real_name)
        if name in links:
            return {"load": "loaded", "enabled": links[name]}
        install = self._install_section(target)
        prefix, at, suffix = name.partition("@")
        if at and suffix.startswith(".") and any(link.startswith(prefix + "@") for link in links):
            return {"load": "loaded", "enabled": "indirect"}  # a template with an enabled instance
        for alias in install.get("Alias", []):
            if alias in links:
                return {"load": "loaded", "enabled": links[alias]}
        if any(install.get(key) for key in INSTALL_RULES):
            return {"load": "loaded", "enabled": "disabled"}
        if install.get("Also"):
            return {"load": "loaded", "enabled": "indirect"}
        return {"load": "loaded", "enabled": "static"}

    def _enablement_links(self, real_name):
        """Link name -> enabled/enabled-runtime of the links in /etc and /run (.wants, .requires, .upholds
        and Alias= links) that point at the unit file `real_name`."""

        def compute():
            found = []
            for config, word in (("etc/systemd/system", "enabled"), ("run/systemd/system", "enabled-runtime")):
                for pattern in ("/*", "/*.wants/*", "/*.requires/*", "/*.upholds/*"):
                    for link in sorted(glob.glob(self.path(config) + pattern)):
                        if os.path.islink(link):
                            found.append((os.path.basename(link), os.path.basename(os.readlink(link)), word, pattern))
            return found

        states = {}
        for link_name, target, word, pattern in self.cached(("unit-links",), compute):
            if target == real_name and not (pattern == "/*" and link_name == real_name):
                states.setdefault(link_name, word)
        return states

    def _install_section(self, path):
        """[Install] settings of a unit file: key -> list of words."""
        install, section = {}, ""
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
        for line in text.splitlines():
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "Install" and "=" in line:
                key, _sep, value = line.partition("=")
                words = value.split()
                install[key.strip()] = install.get(key.strip(), []) + words if words else []
        return install

    def kmod(self, name):
        """modprobe.d configuration of a kernel module and, where this host's kernel is observable, its state.

        Raises Decided where the kernel settles it: PASS when the kernel has no loadable module support
        or no such module (CIS's own audit passes "module not available"), FAIL when it is built in.
        """
        wanted = name.replace("-", "_")
        if not self.container:
            self._kernel_decides(wanted)
        facts = dict(self.cached(("modprobe",), self._modprobe).get(wanted, {"disabled": False, "blacklisted": False}))
        if self.live and not self.container:
            loaded = self.cached(
                ("modules",), lambda: {line.split()[0] for line in self.read("proc/modules").splitlines()}
            )
            facts["loaded"] = wanted in loaded
        return facts

    def kernel(self):
        """The kernel this audit speaks for: release, its configuration (symbol -> value) and its module lists.

        Live: the running kernel, configuration from /proc/config.gz or /boot/config-<release>. Under another
        root: the newest kernel of the tree (/boot/config-*, /lib/modules/*).
        """

        def compute():
            if self.live:
                release = os.uname().release
            else:
                found = [p.rpartition("config-")[2] for p in self.glob("boot/config-*")]
                found += [os.path.basename(p) for p in self.glob("lib/modules/*")]
                release = max(found, key=_version_key) if found else None
            facts = {"release": release, "config": None, "source": None, "builtin": None, "loadable": None}
            sources = (["proc/config.gz"] if self.live else []) + (["boot/config-%s" % release] if release else [])
            for source in sources:
                if os.path.isfile(self.resolve(source)):
                    facts["config"], facts["source"] = self._kernel_config(source), "/" + source
                    break
            for key, listing in (("builtin", "modules.builtin"), ("loadable", "modules.dep")):
                path = "lib/modules/%s/%s" % (release, listing)
                if release and os.path.isfile(self.resolve(path)):
                    facts[key] = {_module_name(line) for line in self.read(path).splitlines() if line.strip()}
            facts["proc_modules"] = self.live and os.path.exists("/proc/modules")
            return facts

        return self.cached(("kernel",), compute)

    def _kernel_config(self, source):
        full = self.resolve(source)
        if source.endswith(".gz"):
            import gzip  # only /proc/config.gz needs it: keep the module's start fast

            with gzip.open(full, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        else:
            text = self.read(source)
        return dict(re.findall(r"^(CONFIG_\w+)=(\S+)", text, re.MULTILINE))

    def _kernel_decides(self, module):
        kernel = self.kernel()
        symbol = KMOD_SYMBOLS.get(module)
        config, source, release = kernel["config"], kernel["source"], kernel["release"]
        if config is not None:
            value = config.get("CONFIG_%s" % symbol) if symbol else None
            if value == "y" or (kernel["builtin"] is not None and module in kernel["builtin"]):
                raise Decided(
                    "FAIL",
                    "%s is built into kernel %s (CONFIG_%s=y in %s): modprobe.d cannot disable it"
                    % (module, release, symbol, source),
                )
            if config.get("CONFIG_MODULES") != "y":
                raise Decided(
                    "PASS",
                    "not available: kernel %s has no loadable module support (CONFIG_MODULES is not set in %s) "
                    "and %s is not built in" % (release, source, module),
                )
            if symbol and value is None:
                raise Decided(
                    "PASS",
                    "not available: kernel %s has no %s module (CONFIG_%s is not set in %s)"
                    % (release, module, symbol, source),
                )
            return
        if kernel["builtin"] is not None and module in kernel["builtin"]:
            raise Decided(
                "FAIL", "%s is built into kernel %s (modules.builtin): modprobe.d cannot disable it" % (module, release)
            )
        if kernel["loadable"] is not None and module not in kernel["loadable"]:
            raise Decided(
                "PASS",
                "not available: kernel %s has no %s module (not in /lib/modules/%s/modules.dep)"
                % (release, module, release),
            )
        if self.live and not kernel["proc_modules"] and kernel["loadable"] is None:
            raise Decided(
                "PASS",
                "not available: the running kernel %s has no loadable module support (no /proc/modules, "
                "no /lib/modules/%s)" % (release, release),
            )

    def _modprobe(self):
        modules = {}
        for path in self.config_files(MODPROBE_DIRS):
            for line in self.read(path).splitlines():
                words = line.split("#", 1)[0].split()
                if len(words) < 2 or words[0] not in ("install", "blacklist"):
                    continue
                state = modules.setdefault(words[1].replace("-", "_"), {"disabled": False, "blacklisted": False})
                if words[0] == "blacklist":
                    state["blacklisted"] = True
                elif len(words) > 2 and words[2] in DISABLED_INSTALL:
                    state["disabled"] = True
        return modules

    def sysctl(self, key):
        """Value a key gets from sysctl.d at boot and, where this host's kernel is observable, the running value."""
        explicit, globs = self.cached(("sysctl",), self._sysctl_files)
        facts = {}
        if key in explicit:
            facts["configured"] = explicit[key]
        else:
            for pattern, value in globs:
                if _sysctl_glob(pattern).match(key):
                    facts["configured"] = value
        if self.live and not self.container:
            with contextlib.suppress(Missing):
                facts["running"] = self.read("proc/sys/" + key.replace(".", "/")).strip()
        return facts

    def _sysctl_files(self):
        """Key -> value as systemd-sysctl applies sysctl.d at boot: files of /etc, /run, /usr/local/lib and
        /usr/lib sysctl.d in name order (a name in an earlier directory hides later ones, /etc/sysctl.conf read
        as 99-sysctl.conf), later lines win; an explicit key beats any glob (`net.ipv4.conf.*.rp_filter`)."""
        explicit, globs = {}, []
        for path in self.config_files(SYSCTL_DIRS, {"99-sysctl.conf": "/etc/sysctl.conf"}):
            for line in self.read(path).splitlines():
                line = line.strip()
                if not line or line[0] in "#;" or "=" not in line:
                    continue
                key, _sep, value = line.partition("=")
                key, value = sysctl_key(key.strip().lstrip("-")), " ".join(value.split())
                if "*" in key or "?" in key:
                    globs.append((key, value))
                else:
                    explicit[key] = value
        return explicit, globs

    def mounts(self):
        """Mount point -> options: /proc/self/mounts on the live host, etc/fstab under another root."""

        def compute():
            source = "proc/self/mounts" if self.live else "etc/fstab"
            table = {}
            for line in self.read(source).splitlines():
                fields = line.split()
                if len(fields) >= 4 and not fields[0].startswith("#"):
                    table[fields[1]] = fields[3].split(",")
            return table

        return self.cached(("mounts",), compute)

    def os_id(self):
        """ID= of os-release (etc/os-release, else usr/lib/os-release); `debian` when neither says."""

        def compute():
            for path in ("etc/os-release", "usr/lib/os-release"):
                with contextlib.suppress(Missing, OSError):
                    found = re.search(r"^ID=[\"']?([^\"'\n]+)", self.read(path), re.MULTILINE)
                    if found:
                        return found.group(1).strip()
            return "debian"

        return self.cached(("os_id",), compute)

    # -- boot loader ----------------------------------------------------------------------------
    GRUB_PACKAGES = ("grub-common", "grub2-common", "grub-pc", "grub-efi-amd64", "grub-efi-arm64")

    def grub(self):
        """None when GRUB is the boot loader (a grub package or /boot/grub/grub.cfg), else why it is not."""
        if self.exists("boot/grub/grub.cfg"):
            return None
        with contextlib.suppress(Missing):
            if any(name in self.packages() for name in self.GRUB_PACKAGES):
                return None
        return (
            "no GRUB boot loader: no grub package and no /boot/grub/grub.cfg "
            "(a container, firmware that boots the kernel directly such as a Raspberry Pi, or an EFI stub)"
        )

    def bootparams(self, names):
        """Views of kernel parameters `names`: each distinct set on the `linux` lines of grub.cfg and, on a live
        host that is not a container, /proc/cmdline of the running kernel. Decided INFO without either."""
        views = []
        if self.grub() is None:
            lines = re.findall(r"^\s*linux(?:efi|16)?\s+\S+(.*)$", self.read("boot/grub/grub.cfg"), re.MULTILINE)
            if not lines:
                raise Missing("/boot/grub/grub.cfg has no linux lines")
            for number, line in enumerate(lines, 1):
                facts = _kernel_params(line, names)
                if all(facts != seen for _label, seen in views):
                    views.append(("/boot/grub/grub.cfg linux line %d" % number, facts))
        if self.live and not self.container:
            views.append(("/proc/cmdline", _kernel_params(self.read("proc/cmdline"), names)))
        if not views:
            raise Decided("INFO", "not applicable: %s; no running kernel to read /proc/cmdline from" % self.grub())
        return views

    # -- sshd ---------------------------------------------------------------------------------
    def sshd(self):
        """Effective sshd settings: one `sshd -T`, else sshd_config read as sshd reads it (cis/sshd.py)."""

        def compute():
            if not self.exists("etc/ssh/sshd_config"):
                if not self.why_missing(["/etc/ssh/sshd_config"]) and self.exists("var/lib/dpkg/status"):
                    raise Unobservable("/etc/ssh/sshd_config does not exist though openssh-server is installed")
                raise Missing("/etc/ssh/sshd_config does not exist%s" % self.why_missing(["/etc/ssh/sshd_config"]))
            try:
                result = self.run(("sshd", "-T", "-C", "user=root,host=localhost,addr=127.0.0.1"))
            except Missing:
                result = {"rc": 1}
            if result["rc"] == 0:
                return sshd.from_sshd_t(result["stdout"])
            config = sshd.Config(self.read, self.glob, groups=self.user_groups("root"))
            return config.parse("/etc/ssh/sshd_config").settings()

        return self.cached(("sshd",), compute)

    def user_groups(self, user):
        """Names of the groups `user` belongs to, from the tree's etc/passwd and etc/group."""
        try:
            passwd, group = self.read("etc/passwd"), self.read("etc/group")
        except Missing:
            return [user]
        primary = [f[3] for f in (line.split(":") for line in passwd.splitlines()) if len(f) > 3 and f[0] == user]
        names = []
        for fields in (line.split(":") for line in group.splitlines()):
            if len(fields) > 3 and (fields[2] in primary or user in fields[3].split(",")):
                names.append(fields[0])
        return names

    # -- kubernetes -----------------------------------------------------------------------------
    def process_args(self, binary):
        """Arguments of a running process named `binary` (live host only; /proc is read once)."""
        if not self.live:
            raise Missing("%s is not running under %s" % (binary, self.root))
        processes = self.cached(("processes",), _processes)
        if binary not in processes:
            raise Missing("%s is not running" % binary)
        return processes[binary]

    def component_flags(self, component):
        """Flags of a control plane component from its static pod manifest, else its running process."""
        manifest, binary = MANIFESTS[component]
        if manifest and self.exists(manifest):
            pod = self.document(manifest)
            try:
                container = pod["spec"]["containers"][0]
            except (KeyError, IndexError, TypeError):
                raise ValueError("%s has no spec.containers[0]" % manifest) from None
            return flags_from_args(list(container.get("command") or []) + list(container.get("args") or []))
        return flags_from_args(self.process_args(binary))

    def kubelet(self):
        """KubeletConfiguration (nested keys) overlaid with kubelet flags (`--name` keys)."""

        def compute():
            flags = {}
            for pattern in KUBELET_DROPINS:
                for path in self.glob(pattern):
                    text = self.read(path)
                    for line in re.findall(r"^\s*(?:Environment|ExecStart)=(.*)$", text, re.MULTILINE):
                        words = [re.sub(r"^\w+=", "", token) for token in shlex.split(line)]
                        flags.update(flags_from_args(" ".join(words).split()))
            for path in KUBELET_ENV_FILES:
                if self.exists(path):
                    for value in re.findall(r"^\s*\w+=(.*)$", self.read(path), re.MULTILINE):
                        flags.update(flags_from_args(shlex.split(value.strip().strip("\"'"))))
            if self.live:
                with contextlib.suppress(Missing):
                    flags.update(flags_from_args(self.process_args("kubelet")))
            config_path = flags.get("--config", "/var/lib/kubelet/config.yaml")
            if not self.exists(config_path) and not flags:
                raise Missing("no kubelet configuration (%s) or flags" % config_path)
            config = self.document(config_path) if self.exists(config_path) else {}
            if not isinstance(config, dict):
                raise ValueError("%s is not a KubeletConfiguration mapping" % config_path)
            facts = dict(config)
            facts.update(flags)
            return facts

        return self.cached(("kubelet",), compute)


def _processes():
    """Program name -> arguments of every process (the first one of each name)."""
    processes = {}
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as handle:
                args = handle.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if args and args[0]:
            processes.setdefault(os.path.basename(args[0]), args[1:])
    return processes


def _split_ws(line):
    parts = line.split(None, 1)
    return parts[0], " ", parts[1] if len(parts) > 1 else ""


def _name(lookup, number, table):
    if table is not None:
        return table.get(number, str(number))
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)
