"""Tables by name, each looked up (or prepared) the first time an expression asks for it.

Reading a table's schema is a round trip to the engine and preparing one (a view) is a
compile and a statement, so a pack whose definition never reads activities should pay
for neither. ``feed_tables`` and ``prepare_tables`` hand out these mappings; code that
uses them indexes them like the plain dict of tables it used before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping

import ibis
from ibis.backends import BaseBackend


class Later:
    """A table not yet made: ``make()`` makes it."""

    def __init__(self, make: Callable[[], ibis.Table]) -> None:
        self.make = make


class LazyTables(MutableMapping[str, ibis.Table]):
    """A mapping of names to tables, where a value may be a ``Later``: it is made on first
    use and kept. Membership and iteration look at the names only, so ``"x" in tables``
    makes nothing."""

    def __init__(self, entries: dict[str, ibis.Table | Later] | None = None) -> None:
        self._entries: dict[str, ibis.Table | Later] = dict(entries or {})

    def __getitem__(self, name: str) -> ibis.Table:
        entry = self._entries[name]
        if isinstance(entry, Later):
            entry = self._entries[name] = entry.make()
        return entry

    def __setitem__(self, name: str, table: ibis.Table | Later) -> None:
        self._entries[name] = table

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def feed_tables(con: BaseBackend, names: tuple[str, ...] | list[str]) -> LazyTables:
    """The warehouse's tables ``names``, each read (``con.table``) when first used."""
    return LazyTables({name: Later(lambda name=name: con.table(name)) for name in names})
