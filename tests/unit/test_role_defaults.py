"""Every role's documented defaults are its real defaults.

`meta/argument_specs.yml` is the single source of a role's options: ansible-doc, the role
READMEs and the role's own argument validation read it, while the play reads
`defaults/main.yml`. The two are compared here for every role of the collection, so a
default changed in one place only fails the suite:

- an option documented with a default has exactly that value in defaults/main.yml (the
  same string, list or mapping, templates compared as written);
- an option documented without a default is not set in defaults/main.yml;
- every variable of defaults/main.yml is a documented option of an entry point.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))

# Roles whose documentation still differs from their defaults, with what differs. Each entry is
# an expected failure until fixed; remove it then (the test passes again for that role).
KNOWN_DRIFT: dict[str, str] = {}


def _load(path: Path):
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _defaults(role: Path) -> dict:
    merged: dict = {}
    main = role / "defaults" / "main.yml"
    merged.update(_load(main))
    # defaults/main/*.yml is the split form ansible-core also reads.
    for part in sorted((role / "defaults" / "main").glob("*.yml")):
        merged.update(_load(part))
    return merged


def _options(role: Path) -> dict[str, dict[str, dict]]:
    specs = _load(role / "meta" / "argument_specs.yml").get("argument_specs") or {}
    return {entry: (spec or {}).get("options") or {} for entry, spec in specs.items()}


def _mismatches(role: Path) -> list[str]:
    defaults = _defaults(role)
    entries = _options(role)
    problems = []
    documented = set()
    for entry, options in entries.items():
        for name, option in options.items():
            documented.add(name)
            if name not in defaults:
                if "default" in option and option["default"] is not None:
                    value = option["default"]
                    problems.append(f"{entry}: {name} documents default {value!r}, not in defaults/main.yml")
                continue
            if "default" not in option:
                if entry == "main" or name not in entries.get("main", {}):
                    problems.append(f"{entry}: {name} is {defaults[name]!r} in defaults/main.yml, documented without")
                continue
            if option["default"] != defaults[name]:
                problems.append(
                    f"{entry}: {name} documents default {option['default']!r}, defaults/main.yml has {defaults[name]!r}"
                )
    for name in sorted(set(defaults) - documented):
        problems.append(f"{name} is in defaults/main.yml but no entry point documents it")
    return problems


def test_roles_found():
    assert ROLES, "no roles/*/meta/argument_specs.yml found"


@pytest.mark.parametrize(
    "role",
    [
        pytest.param(r, marks=pytest.mark.xfail(reason=KNOWN_DRIFT[r.name])) if r.name in KNOWN_DRIFT else r
        for r in ROLES
    ],
    ids=[r.name for r in ROLES],
)
def test_documented_defaults_are_the_real_defaults(role):
    problems = _mismatches(role)
    assert not problems, f"roles/{role.name}:\n  " + "\n  ".join(problems)


def test_the_check_sees_a_drifted_default(tmp_path):
    role = tmp_path / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n"
        "      demo_port: {type: int, default: 6443}\n"
        "      demo_name: {type: str, default: '{{ inventory_hostname }}'}\n"
        "      demo_token: {type: str}\n"
    )
    (role / "defaults" / "main.yml").write_text(
        "demo_port: 6444\ndemo_name: '{{ inventory_hostname }}'\ndemo_token: ''\ndemo_extra: 1\n"
    )
    assert _mismatches(role) == [
        "main: demo_port documents default 6443, defaults/main.yml has 6444",
        "main: demo_token is '' in defaults/main.yml, documented without",
        "demo_extra is in defaults/main.yml but no entry point documents it",
    ]
