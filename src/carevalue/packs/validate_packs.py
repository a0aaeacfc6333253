"""Validate condition packs: every error in every pack, at once, each at file:line.

``validate_packs(path)`` never stops at the first problem: a YAML syntax error ends the
checks of that one file, but every other pack is still checked, and within a pack each
section and each list item is checked on its own, so a broken outcome does not hide an
overlapping stage. ``load_pack`` returns a pack only when it has no problems.

``carevalue validate [PATH]`` prints ``report``.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from carevalue.conditions import shipped_conditions
from carevalue.foundation.file_errors import PackError, PackValidationError, sort_errors
from carevalue.foundation.yaml_lines import YamlDocument, read_yaml
from carevalue.packs.codelists import CodeList, read_codelist
from carevalue.packs.cross_checks import (
    CODELIST_FIELDS,
    LIST_SECTIONS,
    PackParts,
    check_consistency,
)
from carevalue.packs.explain_errors import explain, relevant
from carevalue.packs.model import ConditionPack

PACK_FILE = "pack.yaml"
DEFAULT_PACKS_FOLDER = shipped_conditions()


def find_pack_files(path: Path | str = DEFAULT_PACKS_FOLDER) -> tuple[list[Path], list[PackError]]:
    """The pack.yaml files under ``path``: a pack.yaml, one pack's folder, or a folder of
    pack folders (conditions/<id>/pack.yaml). Problems finding them are errors too."""
    path = Path(path)
    if path.is_file():
        return [path], []
    if (path / PACK_FILE).is_file():
        return [path / PACK_FILE], []
    if not path.is_dir():
        return [], [PackError(str(path), None, "no such file or folder")]
    files, errors = [], []
    for folder in sorted(
        p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    ):
        if (folder / PACK_FILE).is_file():
            files.append(folder / PACK_FILE)
        else:
            errors.append(
                PackError(
                    str(folder),
                    None,
                    f"this folder has no {PACK_FILE}: each folder here is a condition pack",
                )
            )
    if not files and not errors:
        errors.append(
            PackError(
                str(path), None, f"no condition packs here: expected {path}/<condition>/{PACK_FILE}"
            )
        )
    return files, errors


def validate_packs(path: Path | str = DEFAULT_PACKS_FOLDER) -> list[PackError]:
    """Every problem in every pack under ``path``, sorted by file and line."""
    files, errors = find_pack_files(path)
    for pack_file in files:
        errors += check_pack(pack_file)[1]
    return sort_errors(errors)


def load_pack(path: Path | str) -> ConditionPack:
    """One pack (its folder or its pack.yaml) with its code lists loaded.

    Raises ``PackValidationError`` (a ``UserError``) listing every problem if it has any.
    """
    files, errors = find_pack_files(path)
    if errors or len(files) != 1:
        raise PackValidationError(
            errors or [PackError(str(path), None, "expected one condition pack")]
        )
    pack, errors = check_pack(files[0])
    if errors or pack is None:
        raise PackValidationError(errors)
    return pack


def load_packs(path: Path | str = DEFAULT_PACKS_FOLDER) -> list[ConditionPack]:
    """Every pack under ``path``; raises ``PackValidationError`` if any has a problem."""
    files, errors = find_pack_files(path)
    packs = []
    for pack_file in files:
        pack, pack_errors = check_pack(pack_file)
        errors += pack_errors
        if pack is not None:
            packs.append(pack)
    if errors:
        raise PackValidationError(errors)
    return packs


def check_pack(pack_file: Path) -> tuple[ConditionPack | None, list[PackError]]:
    """One pack: the pack (None if it has any problem) and all its problems."""
    document = read_yaml(pack_file, str(pack_file))
    errors = list(document.errors)
    data = document.data
    if data is None:
        return None, errors
    if not isinstance(data, dict):
        errors.append(
            document.error(
                (), "pack.yaml must be a set of sections: " + ", ".join(ConditionPack.model_fields)
            )
        )
        return None, errors
    parts, section_errors = _read_sections(document)
    errors += section_errors
    folder = pack_file.parent.name
    if parts.governance is not None and parts.governance.id != folder:
        errors.append(
            document.error(
                ("governance", "id"),
                f"governance id '{parts.governance.id}' must be the pack's folder name '{folder}'",
            )
        )
    codelists, codelist_errors = _read_codelists(parts, pack_file, document)
    errors += codelist_errors
    for finding in check_consistency(parts, codelists):
        message = finding.message
        if finding.first_path is not None:
            message += f" (first on line {document.line_of(finding.first_path)})"
        errors.append(document.error(finding.path, message))
    if errors:
        return None, errors
    try:
        pack = ConditionPack.model_validate(data)
    except ValidationError as error:  # the sections passed, so this would be a bug here
        return None, [
            document.error(*explain(e, data, ConditionPack)) for e in relevant(error.errors())
        ]
    return pack.with_codelists(codelists), []


@cache
def _adapter(section: str, whole: bool) -> TypeAdapter:
    """Validator of a whole section (with its constraints) or of one item of a list section."""
    info = ConditionPack.model_fields[section]
    if whole:
        return TypeAdapter(
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
    return TypeAdapter(info.annotation.__args__[0])  # tuple[Item, ...] -> Item


def _read_sections(document: YamlDocument) -> tuple[PackParts, list[PackError]]:
    data: dict[str, Any] = document.data
    parts, errors = PackParts(), []
    sections = list(ConditionPack.model_fields)
    for key in data:
        if key not in sections:
            close = difflib.get_close_matches(str(key), sections, n=1)
            errors.append(
                document.error(
                    (key,),
                    (
                        f"unknown section '{key}'"
                        + (f" (did you mean '{close[0]}'?)" if close else "")
                        + f"; the sections are: {', '.join(sections)}"
                    ),
                )
            )
    for section, info in ConditionPack.model_fields.items():
        if section not in data:
            if info.is_required():
                meaning = (info.description or "").rstrip(".").lower()
                errors.append(
                    document.error((), f"the pack has no '{section}' section ({meaning})")
                )
            continue
        try:
            parsed = _adapter(section, whole=True).validate_python(data[section])
        except ValidationError as error:
            parsed = None
            for detail in relevant(error.errors()):
                errors.append(document.error(*explain(detail, data, ConditionPack, (section,))))
        if section in LIST_SECTIONS:
            _salvage_items(section, data[section], parts)
        elif parsed is not None:
            setattr(parts, section, parsed)
    parts.mentioned_codelists = set(_codelist_mentions(data))
    return parts, errors


def _codelist_mentions(node: Any) -> Iterator[str]:
    """Every code list id named in the raw data (under codelist-naming keys)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CODELIST_FIELDS and isinstance(value, str):
                yield value
            else:
                yield from _codelist_mentions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _codelist_mentions(item)


def _salvage_items(section: str, items: Any, parts: PackParts) -> None:
    """Keep each list item that is valid on its own, so cross-checks can still run."""
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            parts.ids[section].append((index, item["id"]))
        # An invalid item is already reported by the whole-section validation.
        with contextlib.suppress(ValidationError):
            parts.items[section][index] = _adapter(section, whole=False).validate_python(item)


def _read_codelists(
    parts: PackParts, pack_file: Path, document: YamlDocument
) -> tuple[dict[str, CodeList], list[PackError]]:
    loaded: dict[str, CodeList] = {}
    errors: list[PackError] = []
    for index, declaration in parts.items["codelists"].items():
        csv_file = pack_file.parent / declaration.file
        if not csv_file.is_file():
            errors.append(
                document.error(
                    ("codelists", index, "file"),
                    f"code list '{declaration.id}' names the file '{declaration.file}', "
                    "which does not exist",
                )
            )
            continue
        codelist, problems = read_codelist(
            csv_file, declaration.id, declaration.match, str(csv_file)
        )
        errors += problems
        if codelist is not None and codelist.codes:
            loaded[declaration.id] = codelist
    return loaded, errors


def report(path: Path | str = DEFAULT_PACKS_FOLDER) -> tuple[str, int]:
    """What ``carevalue validate`` prints, and its exit status (0 valid, 1 problems)."""
    files, _ = find_pack_files(path)
    errors = validate_packs(path)
    if errors:
        lines = [str(error) for error in errors]
        count = len(errors)
        lines.append(f"{_count(count, 'problem')} in {_count(len(files), 'condition pack')}.")
        return "\n".join(lines), 1
    names = ", ".join(f.parent.name for f in files)
    return f"{_count(len(files), 'condition pack')} valid: {names}.", 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"
