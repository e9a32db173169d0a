"""The lock: ``requirements/constraints.txt`` pins the exact version of every distribution that Credo
and its test extra need, as installed where the tests passed. The README's install commands and
``.ci/run`` install with ``-c requirements/constraints.txt``, so a fresh clone gets those versions.

    .venv/bin/python requirements/lock.py           # write the lock from the running environment
    .venv/bin/python requirements/lock.py --check   # exit 1 if the lock misses a need or differs from it

What is needed is read from ``pyproject.toml`` (dependencies and the ``test`` extra) and followed
through the installed distributions' own requirements, with their environment markers; anything
else installed by hand is left out. Refreshing after a change of dependencies: docs/operations.md.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "constraints.txt"
HEADER = ("# Exact versions of everything credo[test] needs, as tested: written by requirements/lock.py,\n"
          "# installed with `pip install -c requirements/constraints.txt` (README, .ci/run).\n")


def needed(extras: tuple[str, ...] = ("test",)) -> dict[str, str]:
    """``{name: installed version}`` of every distribution the project's requirements reach."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo: list[tuple[Requirement, frozenset[str]]] = [(Requirement(t), frozenset()) for t in project["dependencies"]]
    todo += [(Requirement(text), frozenset()) for extra in extras for text in project["optional-dependencies"][extra]]
    found: dict[str, str] = {}
    expanded: dict[str, frozenset[str]] = {}
    while todo:
        requirement, wanted_by = todo.pop()
        environments = [{"extra": extra} for extra in wanted_by] or [{"extra": ""}]
        if requirement.marker is not None and not any(requirement.marker.evaluate(e) for e in environments):
            continue
        name = canonicalize_name(requirement.name)
        extras_now = frozenset(requirement.extras) | expanded.get(name, frozenset())
        if name in expanded and extras_now == expanded[name]:
            continue
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:
            raise SystemExit(f"{requirement.name} is required but not installed: install the project first") from None
        found[name] = dist.version
        expanded[name] = extras_now
        todo += [(Requirement(text), extras_now) for text in dist.requires or []]
    return found


def render(versions: dict[str, str]) -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(versions.items()))


def read_lock(path: Path = LOCK) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def problems(versions: dict[str, str], pins: dict[str, str]) -> list[str]:
    """How the lock fails what is needed and installed: a need it does not pin, a version it pins
    differently from the one installed (and tested)."""
    return [f"{name} {version} is needed but not locked" if name not in pins else
            f"{name} is locked at {pins[name]} but {version} is installed"
            for name, version in sorted(versions.items()) if pins.get(name) != version]


def main(argv: list[str]) -> int:
    versions = needed()
    if "--check" in argv:
        found = problems(versions, read_lock())
        for line in found:
            print(line)
        if found:
            print("install with `pip install -c requirements/constraints.txt -e '.[test]'`, or refresh the lock: "
                  "docs/operations.md")
        return 1 if found else 0
    LOCK.write_text(render(versions))
    print(f"locked {len(versions)} distributions in {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
