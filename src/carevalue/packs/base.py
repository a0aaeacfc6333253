"""Building blocks shared by every part of a condition pack: the frozen base model, ids,
day windows and the vocabularies borrowed from the input contract (``sources.feeds``).

Every model forbids unknown fields, so a misspelt key is an error rather than a silently
ignored setting, and is frozen, so a loaded pack cannot change under the code using it.
Field descriptions here become the published JSON Schema (docs/pack-schema.json).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from carevalue.foundation.frozen import Frozen
from carevalue.foundation.yaml_lines import DataPath
from carevalue.sources import feeds

__all__ = ["DataPath", "Frozen"]  # re-exported: every pack model module reads them from here

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
NOT_BLANK_PATTERN = r"\S"
# Plain-English explanations of the patterns above, used when a value does not match.
PATTERN_HINTS = {
    ID_PATTERN: "is not a valid id: use lower-case letters, digits and underscores, "
    "starting with a letter (like 'death_90d')",
    NOT_BLANK_PATTERN: "must not be blank",
}


# The pack's list sections and what one item of each is called in messages.
LIST_SECTION_NOUNS = {
    "codelists": "code list",
    "stages": "stage",
    "outcomes": "outcome",
    "case_mix": "case-mix variable",
    "value_equations": "value equation",
}


Identifier = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        max_length=64,
        description="Lower-case letters, digits and underscores, starting with a letter.",
    ),
]
Text = Annotated[str, Field(min_length=1, pattern=NOT_BLANK_PATTERN)]
Why = Annotated[
    str | None,
    Field(
        default=None,
        description="The clinical or analytical reason for this choice, for reviewers. Give "
        "one wherever the choice is not obvious.",
    ),
]

# Vocabularies of the canonical feeds: a pack can only name values the data can hold.
Setting = Literal[feeds.SETTINGS]
AdmissionMethod = Literal[feeds.ADMISSION_METHODS]
DischargeDestination = Literal[feeds.DISCHARGE_DESTINATIONS]
ActivityType = Literal[feeds.ACTIVITY_TYPES]
CodeSource = Literal["diagnoses", "activities"]
Position = Literal["primary", "secondary", "any"]
POSITION_MEANING = (
    "Which diagnosis positions count: 'primary' (position 1), 'secondary' (position 2 or "
    "later) or 'any'."
)


class DayWindow(Frozen):
    """A closed range of days. Day 0 is the calendar date of the anchor event; day -1 the
    date before it. An activity or event belongs to the window when the calendar date it
    starts on is between from_day and to_day inclusive."""

    from_day: int = Field(
        description="First day of the window (may be negative: before the anchor)."
    )
    to_day: int = Field(description="Last day of the window, inclusive.")
    relative_to: Literal["index_event", "cycle_end_event"] = Field(
        default="index_event",
        description="The anchor event that is day 0: the index event (default), or the event "
        "that ends the care cycle (only for packs whose cycle ends on an event, e.g. the "
        "SVR12 test for hepatitis C).",
    )

    @model_validator(mode="after")
    def _from_before_to(self) -> DayWindow:
        if self.from_day > self.to_day:
            raise ValueError(
                f"the window is inverted: from_day {self.from_day} is after to_day {self.to_day}"
            )
        return self


def check_position(source: str, position: str | None) -> None:
    """Diagnoses need a position; activities have none."""
    if source == "activities" and position is not None:
        raise ValueError("'position' applies only to diagnoses; remove it for activities")
    if source == "diagnoses" and position is None:
        raise ValueError("say which diagnosis positions count: position primary, secondary or any")
