# Copyright: homelab.k8s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the preflight checks need of the login session, as one JSON object on stdout.

Run by tasks/preflight.yml as ``python3 -c <this file> <patterns...>``, as the login user.

Arguments: the AuthorizedKeysFile patterns of sshd (%h, %u, %U and %% expanded as sshd does,
relative paths under the home directory). Reads only.
"""

import grp
import json
import os
import pwd
import re
import subprocess
import sys


def algorithms(query):
    try:
        done = subprocess.run(["ssh", "-Q", query], capture_output=True, text=True, check=False)  # noqa: S603, S607
    except OSError:
        return []
    return done.stdout.split() if done.returncode == 0 else []


def authorized_keys(patterns, user, home, uid):
    found = []
    for pattern in patterns:
        path = re.sub(r"%[%hUu]", lambda m: {"%%": "%", "%h": home, "%u": user, "%U": str(uid)}[m.group(0)], pattern)
        if not path.startswith("/"):
            path = os.path.join(home, path)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                if any(re.match(r"\s*[^#\s]", line) for line in handle):
                    found.append(path)
        except OSError:
            continue
    return found


def main():
    uid = os.getuid()
    account = pwd.getpwuid(uid)
    home = os.environ.get("HOME") or account.pw_dir
    groups = [grp.getgrgid(os.getgid()).gr_name]
    groups += sorted({grp.getgrgid(g).gr_name for g in os.getgroups()} - set(groups))
    json.dump(
        {
            "user": account.pw_name,
            "groups": groups,
            "ssh_connection": os.environ.get("SSH_CONNECTION", "").split(),
            "kex_algorithms": algorithms("kex"),
            "ciphers": algorithms("cipher"),
            "macs": algorithms("mac"),
            "authorized_keys": authorized_keys(sys.argv[1:], account.pw_name, home, uid),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
