"""Pathways: from loaded feeds to care-cycle episodes and the stage of every activity.

The stage's face (later stages import from here, not from the modules inside):

- ``feed_tables(con, FEEDS_NEEDED)`` and ``prepare_tables(ctx, tables)``: the feeds as
  the builder reads them; ``data_span(tables) -> DataSpan``;
- ``build_episodes(ctx, tables, pack, span)``: the ``episodes`` and
  ``episode_activities`` expressions for one condition pack (``carevalue run`` writes
  them for every pack);
- ``encounters_passing`` and ``encounters_with_code``: a pack's index-event filters and
  qualifying codes, which outcomes such as readmissions read again.
"""

from carevalue.pathways.build_episodes import (
    EPISODE_CORE_COLUMNS,
    FEEDS_NEEDED,
    DataSpan,
    build_episodes,
    data_span,
    episode_core,
    prepare_tables,
)
from carevalue.pathways.lazy_tables import LazyTables, feed_tables
from carevalue.pathways.qualifying_events import encounters_passing, encounters_with_code

__all__ = [
    "EPISODE_CORE_COLUMNS",
    "FEEDS_NEEDED",
    "DataSpan",
    "LazyTables",
    "build_episodes",
    "data_span",
    "encounters_passing",
    "encounters_with_code",
    "episode_core",
    "feed_tables",
    "prepare_tables",
]
