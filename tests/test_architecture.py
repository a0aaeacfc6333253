"""The house's imports point only downstream (ARCHITECTURE.md, "Stage faces").

Every ``carevalue`` import in ``src/carevalue`` is read with ``ast`` (imports inside
functions and ``TYPE_CHECKING`` blocks too) and checked against the layer order: a module
imports only from layers below its own, or from its own package. Across packages nobody
imports another package's private (``_underscore``) names, and the pipeline stages are
entered through their package's face (``carevalue.pathways``, not the modules inside).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "carevalue"

# Lower rank first. Names are the first part after ``carevalue.`` (a package or a module).
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("warehouse",),
    ("foundation",),
    (
        "stats",
        "disclosure",
        "config",
        "conditions",
        "csv_export",
    ),  # pure libraries, settings, shipped data
    ("sources",),
    ("packs",),
    ("pathways",),
    ("costing",),
    ("outcomes",),
    ("value",),
    ("flow",),  # maps from episode activities (and from any event log): after the stages
    ("management",),  # the value-based management loop's statistics: after every stage
    ("runs", "assurance"),
    ("snapshots",),  # beside runs, and reads them: after it
    ("reports",),
    ("web",),  # the web app reads snapshots, reports and the stages' faces
    ("cli",),
    ("__main__",),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# Outside the stages: they may import anything, and only the command line imports them.
OUTSIDE = ("synthetic", "bench")
# Pipeline stages: other packages import them through the package's own __init__.
FACED = ("pathways", "costing", "outcomes", "value", "flow", "management")
# Importers held to the faces (the command line and the outside modules may reach in).
HELD_TO_FACES = (*FACED, "runs", "assurance", "snapshots", "reports", "web")


def _part(module: str) -> str:
    """``carevalue.pathways.build_episodes`` -> ``pathways``; bench modules are ``bench``."""
    first = module.split(".")[1] if module.count(".") else ""
    return "bench" if first.startswith("bench") else first


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, me: str) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) for every carevalue import."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name, []) for a in node.names if a.name.startswith("carevalue")
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            if module.startswith("carevalue"):
                found.append((node.lineno, module, [a.name for a in node.names]))
    return found


def problems(package: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        me = _module_name(path, package)
        mine = _part(me)
        where = path.relative_to(package.parent)
        for line, module, names in _imports(path, me):
            theirs = _part(module)
            if theirs == mine or not theirs:
                continue
            if theirs in OUTSIDE and mine not in (*OUTSIDE, "cli"):
                found.append(f"{where}:{line}: imports {module}, which sits outside the stages")
            if mine not in OUTSIDE and theirs not in OUTSIDE:
                if mine not in RANK or theirs not in RANK:
                    found.append(f"{where}:{line}: {mine or me} or {theirs} has no layer in LAYERS")
                elif RANK[theirs] >= RANK[mine]:
                    found.append(
                        f"{where}:{line}: {mine} imports {module}, a later or sibling layer"
                    )
            private = [n for n in names if n.startswith("_")]
            private += [p for p in module.split(".") if p.startswith("_") and p != "__main__"]
            if private:
                found.append(
                    f"{where}:{line}: imports the private {', '.join(private)} of {module}"
                )
            if theirs in FACED and mine in HELD_TO_FACES and module != f"carevalue.{theirs}":
                found.append(
                    f"{where}:{line}: reaches into {module}; import from carevalue.{theirs}"
                )
    return found


def test_every_import_points_downstream_and_through_the_faces():
    assert problems() == []


def test_every_module_has_a_layer():
    parts = {_part(_module_name(p, PACKAGE)) for p in PACKAGE.rglob("*.py")}
    missing = parts - set(RANK) - set(OUTSIDE) - {""}
    assert missing == set()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from carevalue.value import episode_value\n", "a later or sibling layer"),
        ("from carevalue.pathways.qualifying_events import POSITIONS\n", "reaches into"),
        ("from carevalue.sources.ingest import _stage\n", "private _stage"),
        ("from carevalue.synthetic import generate_trust\n", "outside the stages"),
    ],
)
def test_the_check_catches_each_kind_of_wrong_import(tmp_path, source, expected):
    # One module, as if in the outcomes stage, in an otherwise empty package.
    fake = tmp_path / "carevalue"
    (fake / "outcomes").mkdir(parents=True)
    (fake / "outcomes" / "wrong.py").write_text(source, encoding="utf-8")
    found = problems(fake)
    assert len(found) == 1 and expected in found[0], found


def test_no_agpl_package_is_imported_outside_the_benchmarks():
    """pm4py (AGPL-3.0) is the reference the flow maps are tested and benchmarked against;
    CareValue itself must never need it to run."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "bench":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "pm4py" for name in names):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []
