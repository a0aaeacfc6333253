"""Built pages kept in memory per process, keyed by the run they show: a run's snapshot
never changes, so a page built once for the same run, condition, filters and role is the
same page. A new run has a new id, so nothing stale is ever served."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from carevalue.web.panels import Page

SIZE = 256
_pages: OrderedDict[Hashable, Page] = OrderedDict()
_lock = threading.Lock()


def cached_page(key: Hashable, build: Callable[[], Page]) -> Page:
    with _lock:
        page = _pages.get(key)
        if page is not None:
            _pages.move_to_end(key)
            return copy.copy(page)
    page = build()
    with _lock:
        _pages[key] = page
        while len(_pages) > SIZE:
            _pages.popitem(last=False)
    return copy.copy(page)


def clear() -> None:
    with _lock:
        _pages.clear()
