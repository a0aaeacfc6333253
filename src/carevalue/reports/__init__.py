"""Reports: how CareValue shows a figure to a person, one set of rules for the command
line and the web application.

- ``display``: the display rules (a rate as a percentage, money in its currency, an
  interval "a to b", a blank for a missing value);
- ``run_display``: a ``RunReport`` as the rows and sentences ``carevalue run`` prints.
"""

from carevalue.reports.display import blank_or, cell, figure_format, interval, money, number, rate

__all__ = ["blank_or", "cell", "figure_format", "interval", "money", "number", "rate"]
