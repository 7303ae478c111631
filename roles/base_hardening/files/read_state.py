"""Read, in one round trip, what base_hardening would otherwise look up task by task.

Run by tasks/state.yml as ``python3 -c <this file> <JSON request>``; reads only, prints one JSON
object. For each path: "<sha1 of the content or 'directory'> <mode in decimal> <owner> <group>",
or nothing when it is missing. Packages: dpkg's status ("installed", "config-files", ...).
Units: "<is-enabled> <is-active>". Lines: the lines of a file that match a regular expression.
Realpaths: where a command found on the system PATH really is (null when it is not installed).
"""

import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys


def name_of(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def describe(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        digest = "directory"
    else:
        sha1 = hashlib.sha1()  # noqa: S324 - what Ansible's own checksums use, not a signature
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(65536), b""):
                sha1.update(block)
        digest = sha1.hexdigest()
    owner = name_of(pwd.getpwuid, info.st_uid)
    group = name_of(grp.getgrgid, info.st_gid)
    return f"{digest} {stat.S_IMODE(info.st_mode)} {owner} {group}"


def run(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - the role's own commands
    except OSError:
        return 127, ""
    return done.returncode, done.stdout


def packages(names):
    if not names:
        return {}
    _rc, out = run(["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\\n", *names])
    found = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    return {name: found.get(name, "not-installed") for name in names}


def units(names):
    state = {}
    for name in names:
        enabled = run(["systemctl", "is-enabled", name])[1].strip() or "unknown"
        active = run(["systemctl", "is-active", name])[1].strip() or "unknown"
        state[name] = f"{enabled} {active}"
    return state


def lines(requests):
    found = {}
    for path, pattern in requests:
        regexp = re.compile(pattern)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                found[path] = [line.rstrip("\n") for line in handle if regexp.search(line)]
        except OSError:
            found[path] = None
    return found


SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def realpaths(names):
    found = {}
    for name in names:
        path = shutil.which(name, path=SYSTEM_PATH)
        found[name] = os.path.realpath(path) if path else None
    return found


def main():
    request = json.loads(sys.argv[1])
    result = {
        "files": {path: describe(path) for path in request.get("files", [])},
        "packages": packages(request.get("packages", [])),
        "units": units(request.get("units", [])),
        "lines": lines(request.get("lines", [])),
        "realpaths": realpaths(request.get("realpaths", [])),
        "groups": {},
        "commands": {},
    }
    for name in request.get("groups", []):
        try:
            grp.getgrnam(name)
            result["groups"][name] = True
        except KeyError:
            result["groups"][name] = False
    for key, argv in request.get("commands", {}).items():
        rc, out = run(argv)
        result["commands"][key] = {"rc": rc, "stdout_lines": out.splitlines()}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
