"""Checks that need the whole pack: unique ids, references between sections, code lists
used where their codes can occur, stage windows inside the cycle, and overlapping stages.

They run on ``PackParts``, which may be incomplete: when a section of pack.yaml is broken,
the validator still checks what could be read, so one mistake does not hide the others.
Each finding names the path of the offending value so the validator can give its line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from carevalue.packs.base import LIST_SECTION_NOUNS, DataPath, DayWindow
from carevalue.packs.codelists import CodeList
from carevalue.packs.measures import (
    CascadeStep,
    CureSvr12,
    PromScore,
    QalyWithin,
    ReinfectionAfterCure,
)
from carevalue.packs.model import (
    OTHER_STAGE,
    CareCycle,
    Cohort,
    ConditionPack,
    EventEnd,
    Governance,
    PatientFlow,
)
from carevalue.packs.stage_overlap import find_overlaps
from carevalue.sources import feeds

LIST_SECTIONS = tuple(LIST_SECTION_NOUNS)
UTILITY_SCORINGS = ("eq5d5l_to_3l_dsu", "eq5d5l_index_devlin2018", "utility_weighted_mrs")
NOUNS = LIST_SECTION_NOUNS
# Fields that name a code list, and where the codes will be looked for.
CODELIST_FIELDS = ("codelist", "among_codelist", "treatment_codelist", "after_most_recent")
_DIAGNOSIS_REFERENCES = {("Complication", "codelist"), ("Category", "codelist")}
_ANYWHERE_REFERENCES = {("CascadeEvidence", "codelist")}


@dataclass(frozen=True)
class Finding:
    path: DataPath
    message: str
    first_path: DataPath | None = None  # for duplicates: where the value was first used


@dataclass
class PackParts:
    """Whatever parts of a pack could be read. List sections map item index -> item;
    ``ids`` holds every id written in each list section, even in items that failed."""

    governance: Governance | None = None
    cohort: Cohort | None = None
    care_cycle: CareCycle | None = None
    flow: PatientFlow | None = None
    items: dict[str, dict[int, Any]] = field(default_factory=lambda: {s: {} for s in LIST_SECTIONS})
    ids: dict[str, list[tuple[int, str]]] = field(
        default_factory=lambda: {s: [] for s in LIST_SECTIONS}
    )
    # Code list ids named anywhere in the file, even in parts that failed: a list named only
    # by a broken outcome is not 'unused', and saying so would be noise.
    mentioned_codelists: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, pack: ConditionPack) -> PackParts:
        parts = cls(pack.governance, pack.cohort, pack.care_cycle, pack.flow)
        for section in LIST_SECTIONS:
            parts.items[section] = dict(enumerate(getattr(pack, section)))
            parts.ids[section] = [(i, item.id) for i, item in parts.items[section].items()]
        return parts


def check_consistency(parts: PackParts, codelists: Mapping[str, CodeList]) -> list[Finding]:
    """Every cross-section problem in the pack. ``codelists`` holds the contents of the
    lists that could be read (may be empty: content checks are then skipped)."""
    findings = list(_duplicate_ids(parts))
    findings += _codelist_references(parts, codelists)
    findings += _outcome_references(parts)
    findings += _stage_checks(parts, codelists)
    findings += _window_anchors(parts)
    return findings


def _duplicate_ids(parts: PackParts) -> Iterator[Finding]:
    for section in LIST_SECTIONS:
        first: dict[str, int] = {}
        for index, item_id in parts.ids[section]:
            if item_id in first:
                yield Finding(
                    (section, index, "id"),
                    f"{NOUNS[section]} id '{item_id}' is used twice; ids must be unique",
                    (section, first[item_id], "id"),
                )
            else:
                first[item_id] = index


def _walk_models(value: Any, path: DataPath) -> Iterator[tuple[BaseModel, DataPath]]:
    """Every model inside ``value`` (itself included), with its path."""
    if isinstance(value, BaseModel):
        yield value, path
        for name in type(value).model_fields:
            yield from _walk_models(getattr(value, name), path + (name,))
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _walk_models(item, path + (index,))


def _all_models(parts: PackParts) -> Iterator[tuple[BaseModel, DataPath]]:
    for name in ("cohort", "care_cycle", "flow"):
        if getattr(parts, name) is not None:
            yield from _walk_models(getattr(parts, name), (name,))
    for section in ("stages", "outcomes", "case_mix", "value_equations"):
        for index, item in parts.items[section].items():
            yield from _walk_models(item, (section, index))


def _codelist_references(parts: PackParts, codelists: Mapping[str, CodeList]) -> Iterator[Finding]:
    declared = {item_id for _, item_id in parts.ids["codelists"]}
    used: set[str] = set()
    for model, path in _all_models(parts):
        kind = type(model).__name__
        for name in CODELIST_FIELDS:
            codelist_id = getattr(model, name, None)
            if not isinstance(codelist_id, str):
                continue
            used.add(codelist_id)
            if codelist_id not in declared:
                yield Finding(path + (name,), _unknown("code list", codelist_id, sorted(declared)))
                continue
            source = getattr(model, "source", None)  # outcomes' 'source' means who reports
            if source in ("diagnoses", "activities"):
                where = source
            else:
                where = (
                    "diagnoses"
                    if (kind, name) in _DIAGNOSIS_REFERENCES
                    else None
                    if (kind, name) in _ANYWHERE_REFERENCES
                    else "activities"
                )
            loaded = codelists.get(codelist_id)
            if where == "diagnoses" and loaded is not None:
                stray = sorted(loaded.systems - set(feeds.DIAGNOSIS_CODE_SYSTEMS))
                if stray:
                    yield Finding(
                        path + (name,),
                        (
                            f"code list '{codelist_id}' holds {', '.join(stray)} codes but is used "
                            "on diagnoses, which are coded in "
                            + " or ".join(feeds.DIAGNOSIS_CODE_SYSTEMS)
                        ),
                    )
    for index, item_id in parts.ids["codelists"]:
        if item_id not in used | parts.mentioned_codelists:
            yield Finding(
                ("codelists", index, "id"),
                f"code list '{item_id}' is declared but nothing in the pack uses it",
            )


def _unknown(noun: str, value: str, known: list[str]) -> str:
    listing = ", ".join(known) if known else "none"
    return f"unknown {noun} '{value}'; the pack's {noun}s are: {listing}"


def _outcome_references(parts: PackParts) -> Iterator[Finding]:
    outcomes = parts.items["outcomes"]
    declared = [item_id for _, item_id in parts.ids["outcomes"]]
    by_id = {o.id: o for o in outcomes.values()}
    for index, equation in parts.items["value_equations"].items():
        for k, term in enumerate(equation.numerator):
            if term.outcome not in declared:
                yield Finding(
                    ("value_equations", index, "numerator", k, "outcome"),
                    _unknown("outcome", term.outcome, declared),
                )
    variables = [item_id for _, item_id in parts.ids["case_mix"]]
    for index, equation in parts.items["value_equations"].items():
        for w, weights in enumerate(equation.sensitivity_weights):
            for k, term in enumerate(weights.numerator):
                if term.outcome not in declared:
                    yield Finding(
                        (
                            "value_equations",
                            index,
                            "sensitivity_weights",
                            w,
                            "numerator",
                            k,
                            "outcome",
                        ),
                        _unknown("outcome", term.outcome, declared),
                    )
    for index, outcome in outcomes.items():
        path = ("outcomes", index)
        if outcome.risk_model is not None:
            for k, variable in enumerate(outcome.risk_model.variables):
                if variable not in variables:
                    yield Finding(
                        path + ("risk_model", "variables", k),
                        _unknown("case-mix variable", variable, variables),
                    )
        if isinstance(outcome, CascadeStep):
            previous = outcome.previous_step
            if previous is not None:
                target = by_id.get(previous)
                if previous not in declared:
                    yield Finding(
                        path + ("previous_step",), _unknown("outcome", previous, declared)
                    )
                elif target is not None and not (
                    isinstance(target, CascadeStep) and target.step < outcome.step
                ):
                    yield Finding(
                        path + ("previous_step",),
                        (
                            f"previous_step '{previous}' must be a cascade_step with a lower step "
                            f"than {outcome.step}"
                        ),
                    )
            evidence = outcome.evidence.outcome
            if evidence is not None and evidence not in declared:
                yield Finding(
                    path + ("evidence", "outcome"), _unknown("outcome", evidence, declared)
                )
        if isinstance(outcome, QalyWithin):
            target = by_id.get(outcome.utility_outcome)
            if outcome.utility_outcome not in declared:
                yield Finding(
                    path + ("utility_outcome",),
                    _unknown("outcome", outcome.utility_outcome, declared),
                )
            elif target is not None and not (
                isinstance(target, PromScore) and target.scoring in UTILITY_SCORINGS
            ):
                yield Finding(
                    path + ("utility_outcome",),
                    f"utility_outcome '{outcome.utility_outcome}' must be a prom_score "
                    f"scored as a utility ({', '.join(UTILITY_SCORINGS)})",
                )
        if isinstance(outcome, ReinfectionAfterCure):
            target = by_id.get(outcome.cure_outcome)
            if outcome.cure_outcome not in declared:
                yield Finding(
                    path + ("cure_outcome",), _unknown("outcome", outcome.cure_outcome, declared)
                )
            elif target is not None and not isinstance(target, CureSvr12):
                yield Finding(
                    path + ("cure_outcome",),
                    f"cure_outcome '{outcome.cure_outcome}' must be a cure_svr12 outcome",
                )


def _stage_checks(parts: PackParts, codelists: Mapping[str, CodeList]) -> Iterator[Finding]:
    stages = parts.items["stages"]
    cycle = parts.care_cycle
    first_day = cycle.start.offset_days if cycle else None
    last_day = cycle.last_day if cycle else None
    for index, stage in stages.items():
        if stage.id == OTHER_STAGE:
            yield Finding(
                ("stages", index, "id"),
                "stage id 'other' is reserved for activities that match no stage",
            )
        for r, rule in enumerate(stage.match):
            if first_day is not None and rule.from_day is not None and rule.from_day < first_day:
                yield Finding(
                    ("stages", index, "match", r, "from_day"),
                    (
                        f"stage '{stage.id}' starts on day {rule.from_day}, before the care cycle "
                        f"starts (day {first_day})"
                    ),
                )
            if last_day is not None and rule.to_day is not None and rule.to_day > last_day:
                yield Finding(
                    ("stages", index, "match", r, "to_day"),
                    (
                        f"stage '{stage.id}' runs to day {rule.to_day}, after the care cycle's "
                        f"last day ({last_day})"
                    ),
                )
    for overlap in find_overlaps(stages, codelists, first_day, last_day):
        yield Finding(("stages", overlap.later_stage, "match", overlap.later_rule), overlap.message)
    stage_ids = [item_id for _, item_id in parts.ids["stages"]] + [OTHER_STAGE]
    for index, equation in parts.items["value_equations"].items():
        for k, stage_id in enumerate(equation.cost.stages or ()):
            if stage_id not in stage_ids:
                yield Finding(
                    ("value_equations", index, "cost", "stages", k),
                    _unknown("stage", stage_id, stage_ids),
                )


def _window_anchors(parts: PackParts) -> Iterator[Finding]:
    if parts.care_cycle is None or isinstance(parts.care_cycle.end, EventEnd):
        return
    for model, path in _all_models(parts):
        if isinstance(model, DayWindow) and model.relative_to == "cycle_end_event":
            yield Finding(
                path + ("relative_to",),
                (
                    "relative_to 'cycle_end_event' needs a care cycle that ends on an event; this "
                    "pack's cycle has a fixed length"
                ),
            )
