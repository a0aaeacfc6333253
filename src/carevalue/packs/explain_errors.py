"""Turn pydantic's validation errors into located, plain-English sentences.

Pydantic reports where a problem is as a 'loc' through the *model* (which includes the
tags of discriminated unions, such as an outcome's kind); we map it back onto the path
through the *YAML data*, whose lines we know, and say what is wrong in words a clinician
writing a pack can act on: which field, what is allowed, and what each field means.
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from carevalue.packs.base import LIST_SECTION_NOUNS, PATTERN_HINTS, DataPath

NOUNS = LIST_SECTION_NOUNS
_DISCRIMINATORS = ("kind", "score")


def relevant(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop pydantic's echo errors: a list whose items failed is also reported as 'too
    short after validation', which would blame the list instead of the item."""
    return [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and isinstance(e.get("input"), (list, tuple))
            and len(e["input"]) >= (e.get("ctx") or {}).get("min_length", 0)
        )
    ]


def explain(
    error: ErrorDetails, data: Any, root: type[BaseModel], prefix: DataPath = ()
) -> tuple[DataPath, str]:
    """(path in the YAML data, message) for one pydantic error about ``data[prefix]``."""
    kind = error["type"]
    path = _data_path(prefix + tuple(error["loc"]), data, missing=kind == "missing")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    where = describe(path, data)
    if kind == "missing":
        name = path[-1]
        model = _model_at(path[:-1], data, root)
        meaning = (
            _first_sentence(model.model_fields[name].description)
            if model and name in model.model_fields
            else None
        )
        return path, f"{describe(path[:-1], data)}: missing required field '{name}'" + (
            f" ({meaning})" if meaning else ""
        )
    if kind == "extra_forbidden":
        name = str(path[-1])
        model = _model_at(path[:-1], data, root)
        message = f"{describe(path[:-1], data)}: unknown field '{name}'"
        if model is not None:
            allowed = list(model.model_fields)
            close = difflib.get_close_matches(name, allowed, n=1)
            if close:
                message += f" (did you mean '{close[0]}'?)"
            message += f"; the allowed fields are: {', '.join(allowed)}"
        return path, message
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(ctx.get("discriminator", "'kind'")).strip("'")
        node = _node_at(path, data)
        if isinstance(node, dict) and discriminator in node:
            path = path + (discriminator,)
        noun = "score" if discriminator == "score" else f"{NOUNS.get(str(path[0]), 'item')} kind"
        expected = _tags(
            _model_annotation(path[:-1] if path[-1] == discriminator else path, data, root),
            discriminator,
        )
        listing = ", ".join(expected)
        if kind == "union_tag_not_found":
            return path, f"{where}: missing required field '{discriminator}' (one of: {listing})"
        item = describe(path[:-1] if path[-1] == discriminator else path, data)
        return path, f"{item}: unknown {noun} '{ctx.get('tag')}'; the {noun}s are: {listing}"
    return path, f"{where}: {_problem(kind, error['msg'], ctx, value)}"


def _problem(kind: str, msg: str, ctx: dict, value: Any) -> str:
    if kind in ("value_error", "assertion_error"):
        return (
            msg.split(", ", 1)[1]
            if msg.startswith(("Value error, ", "Assertion failed, "))
            else msg
        )
    if kind == "literal_error":
        return f"'{value}' is not allowed; use one of: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(ctx.get("pattern"))
        if hint == PATTERN_HINTS.get(r"\S"):
            return hint
        return (
            f"'{value}' {hint}"
            if hint
            else f"'{value}' does not have the expected form ({ctx.get('pattern')})"
        )
    if kind == "string_too_short":
        return "must not be blank"
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return f"needs at least {count} item{'s' if count != 1 else ''}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"should be a whole number, not {value!r}"
    if kind in ("float_parsing", "float_type"):
        return f"should be a number, not {value!r}"
    if kind in (
        "date_parsing",
        "date_from_datetime_parsing",
        "date_type",
        "date_from_datetime_inexact",
    ):
        return f"{value!r} is not a date: write it as YYYY-MM-DD"
    if kind == "string_type":
        return f"should be text, not {value!r} (put quotes around it)"
    if kind in ("tuple_type", "list_type"):
        return f"should be a list (lines starting with '- ' or [a, b]), not {value!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"should be a block of fields, not {value!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{value!r} is out of range: {msg[0].lower() + msg[1:]}"
    if kind == "cycle_end_shape":
        return msg
    shown = f" (got {value!r})" if isinstance(value, (str, int, float, bool)) else ""
    return msg[0].lower() + msg[1:] + shown


def describe(path: DataPath, data: Any) -> str:
    """A reader's name for a place in the pack: "stage 'acute', match #2, to_day"."""
    if not path:
        return "the pack"
    section, rest = str(path[0]), list(path[1:])
    tokens = [section]
    if section in NOUNS and rest and isinstance(rest[0], int):
        item = _node_at(path[:2], data)
        item_id = item.get("id") if isinstance(item, dict) else None
        tokens = [
            f"{NOUNS[section]} '{item_id}'"
            if isinstance(item_id, str)
            else f"{NOUNS[section]} #{rest[0] + 1}"
        ]
        rest = rest[1:]
    for part in rest:
        if isinstance(part, int):
            tokens[-1] += f" #{part + 1}"
        else:
            tokens.append(str(part))
    return ", ".join(tokens)


def _first_sentence(text: str | None) -> str | None:
    if not text:
        return None
    sentence = text.split(". ")[0].rstrip(".")
    return sentence[0].lower() + sentence[1:]


def _data_path(loc: tuple, data: Any, missing: bool) -> DataPath:
    """The path through the data that a model 'loc' points at: union tags are dropped."""
    node, path = data, []
    tags_used: set[str] = set()  # each discriminator's tag appears once per level
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        tag = next(
            (
                d
                for d in _DISCRIMINATORS
                if d not in tags_used
                and isinstance(node, dict)
                and isinstance(part, str)
                and node.get(d) == part
            ),
            None,
        )
        if tag:
            tags_used.add(tag)  # a union tag (the value of 'kind' or 'score'), not a key
            continue
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            path.append(part)
            tags_used = set()
        elif last and missing:
            path.append(part)
        # anything else is a tag of a union told apart by shape (e.g. the cycle end)
    return tuple(path)


def _node_at(path: DataPath, data: Any) -> Any:
    node = data
    for part in path:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        else:
            return None
    return node


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _strip(members[0])
    return annotation


def _classes(annotation: Any) -> list[type[BaseModel]]:
    """Every model class an annotation can hold, flattening unions."""
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType):
        return [cls for member in get_args(annotation) for cls in _classes(member)]
    return []


def _literal_values(model: type[BaseModel], field: str) -> tuple:
    info = model.model_fields.get(field)
    if info is None or get_origin(info.annotation) is not Literal:
        return ()
    return get_args(info.annotation)


def _pick(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model class the data at ``node`` is meant to be, from its kind and keys."""
    candidates = _classes(annotation)
    if isinstance(node, dict):
        candidates = [
            cls
            for cls in candidates
            if all(
                node.get(d) in _literal_values(cls, d)
                for d in _DISCRIMINATORS
                if _literal_values(cls, d)
            )
        ] or candidates
        return max(candidates, key=lambda cls: len(set(node) & set(cls.model_fields)), default=None)
    return candidates[0] if len(candidates) == 1 else None


def _model_annotation(path: DataPath, data: Any, root: type[BaseModel]) -> Any:
    """The annotation that describes the data at ``path``."""
    annotation: Any = root
    node = data
    for part in path:
        stripped = _strip(annotation)
        if isinstance(part, int):
            if get_origin(stripped) is not tuple:
                return None
            annotation = get_args(stripped)[0]
        else:
            model = _pick(stripped, node)
            if model is None or part not in model.model_fields:
                return None
            annotation = model.model_fields[part].annotation
        node = _node_at((part,), node)
    return annotation


def _model_at(path: DataPath, data: Any, root: type[BaseModel]) -> type[BaseModel] | None:
    annotation = _model_annotation(path, data, root)
    return None if annotation is None else _pick(annotation, _node_at(path, data))


def _tags(annotation: Any, discriminator: str) -> list[str]:
    values: list[str] = []
    for cls in _classes(annotation) if annotation is not None else []:
        for value in _literal_values(cls, discriminator):
            if value not in values:
                values.append(value)
    return values
