"""ansible-playbook as the tests run it: this venv's binary, no colour, output captured.

Importable from every test: pytest puts tests/ on sys.path when it loads tests/conftest.py.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
QUIET = {"ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0"}
RECAP_FIELDS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")


class PlaybookRun(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self):
        return self.stdout + self.stderr

    def task(self, name):
        """What the first run of the task `name` printed, without its header ('' if it did not run)."""
        marker = "TASK [%s]" % name
        if marker not in self.stdout:
            return ""
        body = self.stdout.split(marker, 1)[1].split("\n", 1)[1]
        return body.split("\nTASK [")[0].split("\nPLAY RECAP")[0].strip()

    def recap(self, host):
        """The PLAY RECAP counts of `host` as a dict, or None when the play did not get that far."""
        line = re.search(r"^%s\s+:(.*)$" % re.escape(host), self.stdout, re.MULTILINE)
        if line is None:
            return None
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line.group(1)) if key in RECAP_FIELDS}


def ansible_playbook(playbook, *args, env=None):
    """Run `ansible-playbook <args> <playbook>` from the repository root; never raises on failure."""
    environment = {**os.environ, **QUIET, **(env or {})}
    done = subprocess.run(
        [ANSIBLE_PLAYBOOK, *map(str, args), str(playbook)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        check=False,
    )
    return PlaybookRun(done.returncode, done.stdout, done.stderr)


def local_inventory(path, group, host):
    """Write a one-host inventory to `path`: `host` in `group`, reached locally with this Python."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    path.write_text(json.dumps({group: {"hosts": {host: local}}}))
    return path
