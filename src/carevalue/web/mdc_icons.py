"""Making Data Count icons: the SVG file and the text label for each code SPC produces.

``carevalue.stats.spc`` gives a variation code per series (``variation()``, and the
``variation`` column of ``summary()``) and an assurance code or ``None`` (``assurance()``).
The variation code already names the side of the mean the special cause lies on, and that
side together with improvement or concern fixes the direction of good: improvement_high
only arises where higher is better, concern_high only where lower is better. So the code
alone chooses the icon and its label; no direction argument is needed.

Pages load ``icon.static_path`` with ``{% static %}`` and give ``icon.label`` as the
image's alt text (and in words where space allows). The icons are in
``static/mdc-icons/`` with a README saying where they come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ASSURANCE",
    "ICON_DIR",
    "NO_ASSURANCE_LABEL",
    "VARIATION",
    "Icon",
    "assurance_icon",
    "variation_icon",
]

ICON_DIR = Path(__file__).resolve().parent / "static" / "mdc-icons"


@dataclass(frozen=True)
class Icon:
    """One icon: the spc code, its file under static/, and the words that say what it means."""

    code: str
    static_path: str  # relative to the app's static folder, for {% static %}
    label: str

    @property
    def file(self) -> Path:
        return ICON_DIR.parent / self.static_path


def _icon(code: str, kind: str, name: str, label: str) -> Icon:
    return Icon(code=code, static_path=f"mdc-icons/{kind}/{name}.svg", label=label)


_SPECIAL = "Special cause variation"
VARIATION: dict[str, Icon] = {
    icon.code: icon
    for icon in (
        _icon(
            "common_cause",
            "variation",
            "common_cause",
            "Common cause variation — no significant change",
        ),
        _icon(
            "improvement_high",
            "variation",
            "improvement_high",
            f"{_SPECIAL} — improvement (higher is better)",
        ),
        _icon(
            "improvement_low",
            "variation",
            "improvement_low",
            f"{_SPECIAL} — improvement (lower is better)",
        ),
        _icon(
            "concern_high",
            "variation",
            "concern_high",
            f"{_SPECIAL} — concern (high values, where lower is better)",
        ),
        _icon(
            "concern_low",
            "variation",
            "concern_low",
            f"{_SPECIAL} — concern (low values, where higher is better)",
        ),
        _icon(
            "neutral_high",
            "variation",
            "neutral_high",
            f"{_SPECIAL} — high values (neither improvement nor concern)",
        ),
        _icon(
            "neutral_low",
            "variation",
            "neutral_low",
            f"{_SPECIAL} — low values (neither improvement nor concern)",
        ),
    )
}

ASSURANCE: dict[str, Icon] = {
    icon.code: icon
    for icon in (
        _icon(
            "consistent_pass",
            "assurance",
            "pass",
            "Assurance — the process will consistently meet the target",
        ),
        _icon(
            "consistent_fail",
            "assurance",
            "fail",
            "Assurance — the process will consistently fail to meet the target",
        ),
        _icon(
            "inconsistent",
            "assurance",
            "hit_or_miss",
            "Assurance — the process will hit and miss the target (inconsistent)",
        ),
    )
}

# assurance() gives None where there is no target or the measure's direction is neutral.
NO_ASSURANCE_LABEL = "No assurance icon: the measure has no target or no direction of good"


def variation_icon(code: str) -> Icon:
    """The icon for a variation code from ``carevalue.stats.spc``; ValueError for another."""
    try:
        return VARIATION[code]
    except (KeyError, TypeError):
        raise ValueError(
            f"{code!r} is not a variation icon code; expected one of {', '.join(VARIATION)}."
        ) from None


def assurance_icon(code: str | None) -> Icon | None:
    """The icon for an assurance code, or None for None (no target, or a neutral measure).

    A missing value read back from a DataFrame (NaN) counts as None.
    """
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return None
    try:
        return ASSURANCE[code]
    except (KeyError, TypeError):
        raise ValueError(
            f"{code!r} is not an assurance icon code; expected one of {', '.join(ASSURANCE)}"
            " or None."
        ) from None
