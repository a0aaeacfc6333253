"""Statistics for improvement, as a pure library: arrays in, data frames out.

``from carevalue.stats import spc, funnel, survival``. Nothing here touches the warehouse,
the web app or the file system.
"""
