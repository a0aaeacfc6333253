"""A trust's mapping file: how its extract's columns and codes translate to the contract.

One optional YAML file per extract (``mapping.yaml`` in the extract folder, or
``--mapping FILE``)::

    patients:
      file: PAT_EXTRACT.csv          # the feed's file, when it is not patients.csv
      columns:                       # the file's column: the contract's column
        gender: sex
      values:                        # per contract column: the trust's code: the contract's
        sex: {W: female, H: male}
      date_format: DD/MM/YYYY        # how this feed writes its dates (default YYYY-MM-DD)

Every scalar is read as text (so ``01`` stays ``01``); a value mapped to nothing (``~``)
is loaded as a blank. The file is checked before anything is read, and every mistake is
one sentence naming the file and line. Reading is I/O at the edge; the rest is pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from carevalue.errors import UserError
from carevalue.sources.feeds import Feed
from carevalue.sources.standard_codes import Codes, standard_codes

MAPPING_FILE = "mapping.yaml"
DATE_FORMATS = ("YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY")
FEED_KEYS = ("file", "columns", "values", "date_format")


@dataclass(frozen=True)
class FeedMapping:
    file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # file column -> contract column
    values: dict[str, Codes] = field(default_factory=dict)  # column -> lowered code -> value
    date_format: str = "YYYY-MM-DD"


@dataclass(frozen=True)
class ExtractMapping:
    source: str | None = None  # the file it came from, as shown in messages
    feeds: dict[str, FeedMapping] = field(default_factory=dict)

    def feed(self, name: str) -> FeedMapping:
        return self.feeds.get(name, FeedMapping())


NO_MAPPING = ExtractMapping()


def value_map(feed: str, column: str, mapping: FeedMapping) -> Codes:
    """The codes understood for one column: the standard ones, then the trust's own."""
    return {**standard_codes(feed, column), **mapping.values.get(column, {})}


def find_mapping(folder: Path, given: Path | None, catalogue: dict[str, Feed]) -> ExtractMapping:
    """The mapping to use: ``given``, else ``folder/mapping.yaml`` when it exists."""
    if given is not None:
        if not Path(given).is_file():
            raise UserError(f"The mapping file {given} does not exist; check the --mapping path.")
        return read_mapping(Path(given), catalogue)
    default = Path(folder) / MAPPING_FILE
    return read_mapping(default, catalogue) if default.is_file() else NO_MAPPING


class _TextLoader(yaml.SafeLoader):
    """Every plain scalar is text except ``~``/``null``/empty: codes such as ``01`` or
    ``1`` must keep their exact spelling."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_mapping(path: Path, catalogue: dict[str, Feed]) -> ExtractMapping:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(
            f"Cannot read the mapping file {path} ({error}); save it as UTF-8 text."
        ) from None
    loader = _TextLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise UserError(
            f"{path}{where}: this is not valid YAML ({problem}); check the indentation and quote "
            "codes that contain ': '."
        ) from None
    finally:
        loader.dispose()
    if root is None:
        return ExtractMapping(str(path))
    return ExtractMapping(str(path), _feeds(path, root, catalogue))


def _fail(path: Path, node: Node, message: str) -> UserError:
    return UserError(f"{path} line {node.start_mark.line + 1}: {message}.")


def _tag_refused(path: Path, node: Node) -> UserError:
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    return _fail(
        path, node, f"the YAML tag '{tag}' is not allowed in a mapping file; write plain values"
    )


def _pairs(path: Path, node: Node, what: str) -> list[tuple[ScalarNode, Node]]:
    if node.tag not in (
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:null",
    ):
        raise _tag_refused(path, node)
    if not isinstance(node, MappingNode):
        raise _fail(path, node, f"{what} should be a block of 'name: value' lines")
    seen: set[str] = set()
    pairs = []
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            raise _fail(path, key, f"a key in {what} is not plain text")
        if key.value in seen:
            raise _fail(path, key, f"'{key.value}' is given twice in {what}; keep one")
        seen.add(key.value)
        pairs.append((key, value))
    return pairs


def _text(path: Path, node: Node, what: str) -> str | None:
    if not isinstance(node, ScalarNode):
        raise _fail(path, node, f"{what} should be a single value")
    if node.tag == "tag:yaml.org,2002:null":
        return None
    if node.tag not in ("tag:yaml.org,2002:str", "!"):
        raise _tag_refused(path, node)
    return node.value


def _feeds(path: Path, root: Node, catalogue: dict[str, Feed]) -> dict[str, FeedMapping]:
    feeds = {}
    for key, body in _pairs(path, root, "the mapping file"):
        if key.value not in catalogue:
            raise _fail(
                path, key, f"'{key.value}' is not a feed; the feeds are {', '.join(catalogue)}"
            )
        feeds[key.value] = _feed(path, catalogue[key.value], body)
    return feeds


def _feed(path: Path, feed: Feed, body: Node) -> FeedMapping:
    file, columns, values, date_format = None, {}, {}, "YYYY-MM-DD"
    for key, node in _pairs(path, body, feed.name):
        if key.value not in FEED_KEYS:
            raise _fail(
                path,
                key,
                f"{feed.name} has no setting '{key.value}'; a feed's settings are "
                + ", ".join(FEED_KEYS),
            )
        if key.value == "file":
            file = _text(path, node, f"{feed.name}.file")
        elif key.value == "date_format":
            date_format = (_text(path, node, f"{feed.name}.date_format") or "").upper()
            if date_format not in DATE_FORMATS:
                raise _fail(
                    path,
                    node,
                    f"{feed.name}.date_format '{node.value}' is not one of "
                    f"{', '.join(DATE_FORMATS)}",
                )
        elif key.value == "columns":
            columns = _columns(path, feed, node)
        else:
            values = _values(path, feed, node)
    return FeedMapping(file, columns, values, date_format)


def _columns(path: Path, feed: Feed, node: Node) -> dict[str, str]:
    renames: dict[str, str] = {}
    for source, target_node in _pairs(path, node, f"{feed.name}.columns"):
        target = _text(path, target_node, f"{feed.name}.columns.{source.value}")
        if target not in feed.column_names:
            raise _fail(
                path,
                target_node,
                f"{feed.name}.columns renames '{source.value}' to '{target}', which is not a "
                f"column of {feed.name}; its columns are {', '.join(feed.column_names)}",
            )
        if target in renames.values():
            raise _fail(path, target_node, f"{feed.name}.columns names '{target}' twice")
        renames[source.value] = target
    return renames


def _values(path: Path, feed: Feed, node: Node) -> dict[str, Codes]:
    values: dict[str, Codes] = {}
    for column_node, codes_node in _pairs(path, node, f"{feed.name}.values"):
        name = column_node.value
        if name not in feed.column_names:
            raise _fail(
                path,
                column_node,
                f"{feed.name} has no field '{name}'; its fields are {', '.join(feed.column_names)}",
            )
        column = feed.column(name)
        if column.type not in ("text",):
            raise _fail(
                path,
                column_node,
                f"{feed.name}.{name} holds {column.type} values; value maps apply to coded "
                "text fields (use date_format for dates)",
            )
        codes: Codes = {}
        for code, target_node in _pairs(path, codes_node, f"{feed.name}.values.{name}"):
            target = _text(path, target_node, f"{feed.name}.values.{name}.{code.value}")
            if column.allowed is not None and target is not None:
                canonical = {a.lower(): a for a in column.allowed}.get(target.lower())
                if canonical is None:
                    raise _fail(
                        path,
                        target_node,
                        f"{feed.name}.{name} maps '{code.value}' to '{target}', which is not one "
                        f"of {', '.join(column.allowed)}",
                    )
                target = canonical
            if target is None and not column.nullable:
                raise _fail(
                    path,
                    target_node,
                    f"{feed.name}.{name} maps '{code.value}' to a blank, but {name} may not be "
                    "blank; map it to a value",
                )
            codes[code.value.strip().lower()] = target
        values[name] = codes
    return values
