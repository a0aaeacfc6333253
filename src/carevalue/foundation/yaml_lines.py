"""Read a pack.yaml keeping the line of every key and list item, so each error can name
file:line.

PyYAML composes the document into nodes that carry their position; we build the plain
Python data from those nodes and, walking the same nodes, record the line of every path
(``("stages", 2, "match", 0, "codelist")`` -> 57). A key's line is where the key is
written; a list item's line is where its dash is.

Two YAML 1.1 surprises are switched off: only true/false are booleans (``no`` and ``yes``
stay text, as in YAML 1.2), and dates stay text until the model reads them (so a bad date
is reported at its line rather than crashing the reader).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from carevalue.foundation.file_errors import PackError

# A place in a file's data: keys and list indexes, e.g. ("stages", 2, "match", 0, "to_day").
DataPath = tuple[str | int, ...]


class _PackLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps."""


_PackLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PackLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class YamlDocument:
    """A parsed YAML file: its data, the line of each path, and problems found reading it."""

    file: str
    data: Any = None
    lines: dict[DataPath, int] = field(default_factory=dict)
    errors: list[PackError] = field(default_factory=list)

    def line_of(self, path: DataPath) -> int:
        """Line of ``path``, or of its nearest ancestor that exists (1 for the root)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def error(self, path: DataPath, message: str) -> PackError:
        return PackError(self.file, self.line_of(path), message)


def read_yaml(path: Path, shown_as: str) -> YamlDocument:
    """Parse one YAML file; syntax errors and repeated keys become ``errors``."""
    document = YamlDocument(shown_as)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        document.errors.append(
            PackError(shown_as, None, f"is not UTF-8 text ({error.reason} at byte {error.start})")
        )
        return document
    loader = _PackLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            document.errors.append(PackError(shown_as, 1, "the file is empty"))
            return document
        document.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        document.errors.append(_syntax_error(shown_as, error))
        return document
    except yaml.YAMLError as error:  # unmarked: rare, but must not become a traceback
        document.errors.append(PackError(shown_as, None, f"this is not valid YAML: {error}"))
        return document
    finally:
        loader.dispose()
    _record_lines(node, (), document)
    return document


def _syntax_error(shown_as: str, error: yaml.MarkedYAMLError) -> PackError:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else None
    detail = error.problem or "unreadable"
    if error.context:
        detail = f"{detail} ({error.context})"
    return PackError(
        shown_as,
        line,
        f"this is not valid YAML: {detail}; check the indentation, and put quotes around "
        "text that contains ': ' or starts with a special character",
    )


def _record_lines(node: Node, path: DataPath, document: YamlDocument) -> None:
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                document.errors.append(
                    PackError(
                        document.file,
                        line,
                        f"'{key}' is given twice in the same block (first on line {seen[key]}); "
                        "YAML would silently keep only the last",
                    )
                )
                continue
            seen[key] = line
            document.lines[path + (key,)] = line
            _record_lines(value_node, path + (key,), document)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            document.lines[path + (index,)] = item.start_mark.line + 1
            _record_lines(item, path + (index,), document)
