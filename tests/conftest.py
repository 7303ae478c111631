"""Make `ansible_collections.homelab.k8s` importable for the tests.

`make setup` (scripts/collections.sh) links this repository as
.cache/collections/ansible_collections/homelab/k8s beside the collections it depends on.
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_PATH = REPO_ROOT / ".cache" / "collections"

if not (COLLECTIONS_PATH / "ansible_collections" / "homelab" / "k8s").exists():
    raise RuntimeError(f"{COLLECTIONS_PATH} is not set up: run `make setup` first")

sys.path.insert(0, str(COLLECTIONS_PATH))
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_PATH))
