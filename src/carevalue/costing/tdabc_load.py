"""Read a TDABC model file (YAML or JSON) into a ``TdabcModel``, or say at which file and
line each problem is.

The file is parsed with the condition packs' reader (``carevalue.foundation.yaml_lines``), which
records the line of every key and list item and reports a key given twice. Every problem
pydantic finds is turned into one plain sentence at its line; all are reported together.
Checks that span the model (an unknown resource, a duplicated id) run once every resource
and process reads correctly on its own, since they need the ids.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from carevalue.costing.tdabc_model import (
    CURRENCY_PATTERN,
    AddedMinutes,
    ModelProblems,
    Process,
    Resource,
    Step,
    TdabcModel,
    TimeEquation,
)
from carevalue.errors import UserError
from carevalue.foundation.file_errors import PackError
from carevalue.foundation.yaml_lines import DataPath, YamlDocument, read_yaml
from carevalue.packs.base import ID_PATTERN

PATTERNS = {
    ID_PATTERN: "is not a valid id: use lower-case letters, digits and underscores, starting "
    "with a letter (like 'clinic_visit')",
    CURRENCY_PATTERN: "is not a currency code: use the three capital letters of ISO 4217, like GBP",
}
# Which model a place in the file holds, by the shape of its path ('#' for a list index).
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): TdabcModel,
    ("resources", "#"): Resource,
    ("processes", "#"): Process,
    ("processes", "#", "steps", "#"): Step,
    ("processes", "#", "steps", "#", "minutes"): TimeEquation,
    ("processes", "#", "steps", "#", "minutes", "add", "#"): AddedMinutes,
}
_NOUNS = {"resources": "resource", "processes": "process", "steps": "step", "add": "add"}


class TdabcModelError(UserError):
    """A model file with problems; ``problems`` holds each, at its file and line."""

    def __init__(self, problems: list[PackError]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.message))
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            text = "\n".join(
                [f"{len(self.problems)} problems in the TDABC model {self.problems[0].file}:"]
                + [f"  {problem}" for problem in self.problems]
            )
        super().__init__(text)


def load_tdabc_model(path: Path | str) -> TdabcModel:
    """The model in ``path`` (.yaml, .yml or .json); raises ``TdabcModelError`` (a
    ``UserError``) listing every problem, each at its line where it has one."""
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise TdabcModelError(
            [
                PackError(
                    shown,
                    None,
                    f"this file {what}; give the path of a TDABC model file (YAML or JSON).",
                )
            ]
        )
    document = _read(path, shown)
    problems = [_sentence(error) for error in document.errors]
    if document.data is None:
        raise TdabcModelError(problems)
    if not isinstance(document.data, dict):
        raise TdabcModelError(
            problems
            + [
                document.error(
                    (),
                    "the model must be a block of fields: "
                    + ", ".join(TdabcModel.model_fields)
                    + ".",
                )
            ]
        )
    try:
        model = TdabcModel.model_validate(document.data)
    except ValidationError as error:
        problems += [
            problem
            for detail in _relevant(error.errors())
            for problem in _located(detail, document)
        ]
    if problems:
        raise TdabcModelError(problems)
    return model


def _read(path: Path, shown: str) -> YamlDocument:
    """YAML, or JSON (a JSON file is YAML too, which gives its lines; the rare JSON that
    YAML cannot read, such as one indented with tabs, is read without lines)."""
    document = read_yaml(path, shown)
    if not document.errors or path.suffix.lower() != ".json":
        return document
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        return YamlDocument(
            shown, errors=[PackError(shown, error.lineno, f"this is not valid JSON: {error.msg}.")]
        )
    except UnicodeDecodeError:
        return document
    return _WithoutLines(shown, data)


class _WithoutLines(YamlDocument):
    """A document whose lines are unknown: problems name the file only."""

    def error(self, path: DataPath, message: str) -> PackError:
        return PackError(self.file, None, message)


def _relevant(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop pydantic's echo of failed items: a list whose items failed is also called too
    short, which would blame the list instead of the item."""
    return [
        e
        for e in errors
        if not (
            e["type"] == "too_short" and isinstance(e.get("input"), (list, tuple)) and e["input"]
        )
    ]


def _located(error: ErrorDetails, document: YamlDocument) -> list[PackError]:
    loc: DataPath = tuple(part for part in error["loc"] if part != "[key]")
    cause = (error.get("ctx") or {}).get("error")
    if error["type"] == "value_error" and isinstance(cause, ModelProblems):
        located = []
        for problem in cause.problems:
            first = (
                document.line_of(loc + problem.first_path)
                if problem.first_path is not None and not isinstance(document, _WithoutLines)
                else None
            )
            located.append(document.error(loc + problem.path, problem.text(first)))
        return located
    return [document.error(loc, _explain(error, loc, document.data))]


def _explain(error: ErrorDetails, loc: DataPath, data: Any) -> str:
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        model = _MODELS.get(_shape(loc[:-1]))
        info = model.model_fields.get(str(loc[-1])) if model else None
        meaning = f" ({_first_sentence(info.description)})" if info and info.description else ""
        return f"{describe(loc[:-1], data)}: missing required field '{loc[-1]}'{meaning}."
    if kind == "extra_forbidden":
        model = _MODELS.get(_shape(loc[:-1]))
        message = f"{describe(loc[:-1], data)}: unknown field '{loc[-1]}'"
        if model is not None:
            allowed = list(model.model_fields)
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message += f" (did you mean '{close[0]}'?)" if close else ""
            message += f"; the allowed fields are: {', '.join(allowed)}"
        return message + "."
    return f"{describe(loc, data)}: {_problem(kind, error['msg'], ctx, value)}."


def _problem(kind: str, msg: str, ctx: dict, value: Any) -> str:
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        hint = PATTERNS.get(ctx.get("pattern"), f"does not have the form {ctx.get('pattern')}")
        return f"'{value}' {hint}"
    if kind == "literal_error":
        return f"'{value}' is not allowed; use one of: {ctx.get('expected')}"
    if kind in ("decimal_parsing", "decimal_type", "finite_number", "float_parsing", "float_type"):
        return f"should be a number, not {value!r}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"should be a whole number, not {value!r}"
    if kind in ("string_type",):
        return f"should be text, not {value!r} (put quotes around it)"
    if kind in ("tuple_type", "list_type"):
        return f"should be a list (lines starting with '- ' or [a, b]), not {value!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"should be a block of fields, not {value!r}"
    if kind in ("too_short", "dict_too_short"):
        return "needs at least one entry"
    return msg[0].lower() + msg[1:]


def describe(path: DataPath, data: Any) -> str:
    """A reader's name for a place in the file: "process 'clinic_visit', step 'assessment',
    minutes, add #1"."""
    if not path:
        return "the model"
    tokens: list[str] = []
    node = data
    parts = list(path)
    while parts:
        part = parts.pop(0)
        node = node.get(part) if isinstance(node, dict) else None
        if part in _NOUNS and parts and isinstance(parts[0], int):
            index = parts.pop(0)
            node = node[index] if isinstance(node, list) and index < len(node) else None
            item_id = node.get("id") if isinstance(node, dict) else None
            tokens.append(
                f"{_NOUNS[part]} '{item_id}'"
                if isinstance(item_id, str)
                else f"{_NOUNS[part]} #{index + 1}"
            )
        else:
            tokens.append(str(part))
    return ", ".join(tokens)


def _shape(path: DataPath) -> tuple[str, ...]:
    return tuple("#" if isinstance(part, int) else part for part in path)


def _first_sentence(text: str) -> str:
    # A sentence ends at a full stop before a capital, so "e.g. 'nurse'" stays whole.
    sentence = re.split(r"\.\s+(?=[A-Z])", text)[0].rstrip(".")
    if sentence[1:2].isupper():  # an acronym such as ISO keeps its capitals
        return sentence
    return sentence[0].lower() + sentence[1:]


def _sentence(error: PackError) -> PackError:
    """The reader's messages as sentences, like the rest of this module's."""
    message = error.message if error.message.endswith(".") else error.message + "."
    return PackError(error.file, error.line, message)
