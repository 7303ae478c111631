"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test bootstraps pip into each sanity venv with a get-pip.py it downloads from a
host that is not reachable here. This script does the same job from a pip wheel that
scripts/sanity.sh downloads from PyPI: it runs `pip install --upgrade --force-reinstall`
with the arguments ansible-test passes, minus the get-pip-only options.
Installed as ~/.ansible/test/cache/get_pip_<version>.py by scripts/sanity.sh.
"""

import os
import sys

WHEEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-wheel", "pip.whl")
GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main():
    sys.path.insert(0, WHEEL)
    from pip._internal.cli.main import main as pip_main

    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY_OPTIONS]
    return pip_main(["install", "--upgrade", "--force-reinstall", *args])


if __name__ == "__main__":
    sys.exit(main())
