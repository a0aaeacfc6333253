"""Warnings the statistics library raises when a result is computable but weak.

They are warnings, not errors, because a short series is still worth looking at; the
reader needs to know its limits may move a lot as data arrives. Filter them by class:
``warnings.simplefilter("ignore", ShortSeriesWarning)``.
"""


class ShortSeriesWarning(UserWarning):
    """A chart's centre line and limits rest on fewer points than are recommended (12)."""
