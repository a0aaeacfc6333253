"""Outcomes derived from the feeds, one Ibis expression per outcome a pack declares.

Every outcome gives one row per episode: ``value`` (1/0 for events, a number for times and
lengths), ``status`` and ``event_at`` (when the outcome's event happened, where there is
one). The status says what the value means:

- ``measured``: the value is known;
- ``missing``: the outcome was due but nothing was recorded (a blank discharge destination);
- ``not_due``: its window is still open at the data cut-off and nothing has happened yet;
- ``not_applicable``: it does not apply to this patient (time to thrombolysis for a patient
  not thrombolysed, re-operation for one never operated on, length of stay when the index
  event was not an admission).

An event that has already happened is measured even when its window is still open: a death
on day 20 answers "death within 90 days" whatever the cut-off.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
from ibis import _

from carevalue.foundation.code_matching import POSITIONS, in_codelist
from carevalue.foundation.days import day_number, in_window, plus_days
from carevalue.foundation.tables import left_join
from carevalue.packs.measures import (
    CascadeStep,
    ClinicianScore,
    Complication,
    CureSvr12,
    DaysAtHome,
    DeathInHospital,
    DeathWithin,
    DischargeDestinationOutcome,
    LengthOfStay,
    ReadmissionWithin,
    RecurrenceWithin,
    ReinfectionAfterCure,
    ReoperationWithin,
    TimeToFirstActivity,
)
from carevalue.packs.model import ConditionPack, EventEnd
from carevalue.pathways import encounters_passing, encounters_with_code

Tables = dict[str, ibis.Table]
MEASURED, MISSING, NOT_DUE, NOT_APPLICABLE = "measured", "missing", "not_due", "not_applicable"
STATUSES = (MEASURED, MISSING, NOT_DUE, NOT_APPLICABLE)
SECONDS = {"minutes": 60.0, "hours": 3600.0, "days": 86400.0}
DERIVED_KINDS = (
    DeathWithin,
    DeathInHospital,
    ReadmissionWithin,
    RecurrenceWithin,
    ReoperationWithin,
    LengthOfStay,
    TimeToFirstActivity,
    DischargeDestinationOutcome,
    Complication,
    CureSvr12,
    ReinfectionAfterCure,
    DaysAtHome,
    ClinicianScore,
    CascadeStep,
)


def derived_outcome(
    t: Tables,
    pack: ConditionPack,
    facts: ibis.Table,
    outcome,
    cutoff: date,
    earlier: dict[str, ibis.Table],
) -> ibis.Table:
    """episode_id, value, status, event_at for one derived outcome. ``earlier`` holds the
    pack's outcomes already computed (a cascade step or a reinfection reads another)."""
    compute = {
        DeathWithin: _death_within,
        DeathInHospital: _death_in_hospital,
        ReadmissionWithin: _readmission_within,
        RecurrenceWithin: _recurrence_within,
        ReoperationWithin: _reoperation_within,
        LengthOfStay: _length_of_stay,
        TimeToFirstActivity: _time_to_first_activity,
        DischargeDestinationOutcome: _discharge_destination,
        Complication: _complication,
        CureSvr12: _cure_svr12,
        ReinfectionAfterCure: _reinfection_after_cure,
        DaysAtHome: _days_at_home,
        ClinicianScore: _clinician_score,
        CascadeStep: _cascade_step,
    }[type(outcome)]
    result = compute(t, pack, facts, outcome, ibis.literal(cutoff), earlier)
    return result.select(
        "episode_id",
        value=result.value.cast("float64"),
        status=result.status.cast("string"),
        event_at=result.event_at.cast("timestamp"),
        window_end=result.window_end.cast("date"),
    )


# ------------------------------------------------------------------------ shared pieces


def _event_or_zero(found: ir.BooleanValue, window_end: ir.DateValue, cutoff) -> tuple:
    """1 when the event happened; 0 once the window has closed; not_due before that."""
    status = ibis.cases((found, MEASURED), (window_end > cutoff, NOT_DUE), else_=MEASURED)
    value = ibis.cases((found, 1.0), (window_end > cutoff, ibis.null("float64")), else_=0.0)
    return value, status


def _window_end(facts: ibis.Table, window) -> ir.DateValue:
    return plus_days(facts.index_date, window.to_day)


def _first_event(facts: ibis.Table, rows: ibis.Table, when: str = "when") -> ibis.Table:
    """Each episode's earliest row of ``rows`` (episode_id, ``when``) joined back on."""
    first = rows.group_by("episode_id").aggregate(event_at=rows[when].min())
    return left_join(facts, first, "episode_id")


def _in_window(rows: ibis.Table, when: ir.Value, window) -> ir.BooleanValue:
    return in_window(when, rows.index_date, window)


def _activities_in(t: Tables, pack: ConditionPack, facts: ibis.Table, codelist: str) -> ibis.Table:
    a = t["activities"]
    hits = a.filter(in_codelist(a.code_system, a.code_norm, pack.codelist(codelist)))
    hits = hits.select("patient_id", when=_.start_at)
    return facts.select("episode_id", "patient_id", "index_at", "index_date", "arrival_at").join(
        hits, "patient_id"
    )


def _diagnoses_in(
    t: Tables, pack: ConditionPack, facts: ibis.Table, codelist: str, position: str
) -> ibis.Table:
    d = t["diagnoses"]
    hit = in_codelist(d.code_system, d.code_norm, pack.codelist(codelist)) & POSITIONS[position](
        d.position
    )
    starts = t["encounters"].select("encounter_id", when=_.start_at)
    rows = d.filter(hit).select("patient_id", "encounter_id").join(starts, "encounter_id")
    return facts.select("episode_id", "patient_id", "index_date").join(
        rows.select("patient_id", "when"), "patient_id"
    )


def _spell_scope(facts: ibis.Table, admission: str) -> tuple:
    """End, destination and openness of the index admission or the whole spell."""
    if admission == "index_admission":
        return (
            facts.index_end_at,
            facts.index_destination,
            facts.index_is_inpatient & facts.index_end_at.isnull(),
        )
    return facts.spell_end_at, facts.spell_destination, facts.spell_open


# ------------------------------------------------------------------------ each kind


def _death_within(t, pack, facts, outcome: DeathWithin, cutoff, earlier):
    day = day_number(facts.death_date, facts.index_date)
    found = facts.death_date.notnull() & day.between(outcome.window.from_day, outcome.window.to_day)
    value, status = _event_or_zero(
        found.fill_null(False), _window_end(facts, outcome.window), cutoff
    )
    return facts.mutate(
        value=value,
        status=status,
        event_at=found.ifelse(facts.death_date.cast("timestamp"), None),
        window_end=_window_end(facts, outcome.window),
    )


def _death_in_hospital(t, pack, facts, outcome: DeathInHospital, cutoff, earlier):
    end, destination, still_in = _spell_scope(facts, outcome.admission)
    died = (destination == "died") | (
        facts.death_date.notnull()
        & (facts.death_date >= facts.index_date)
        & (end.isnull() | (facts.death_date <= end.date()))
    )
    died = facts.index_is_inpatient & died.fill_null(False)
    status = ibis.cases(
        (~facts.index_is_inpatient, NOT_APPLICABLE),
        (died, MEASURED),
        (still_in, NOT_DUE),
        else_=MEASURED,
    )
    value = ibis.cases((status != MEASURED, ibis.null("float64")), (died, 1.0), else_=0.0)
    return facts.mutate(
        value=value,
        status=status,
        event_at=died.ifelse(facts.death_date.cast("timestamp"), None),
        window_end=ibis.null("date"),
    )


def _readmission_within(t, pack, facts, outcome: ReadmissionWithin, cutoff, earlier):
    end, destination, still_in = _spell_scope(facts, outcome.admission)
    scoped = facts.mutate(_end=end)
    admissions = (
        t["encounters"]
        .filter(
            (_.setting == "inpatient") & _.admission_method.isin(list(outcome.admission_methods))
        )
        .select("patient_id", when=_.start_at)
    )
    pairs = (
        scoped.filter(scoped._end.notnull())
        .select("episode_id", "patient_id", "_end")
        .join(admissions, "patient_id")
    )
    pairs = pairs.filter(
        (pairs.when > pairs._end)
        & (day_number(pairs.when, pairs._end.date()) <= outcome.days_after_discharge)
    )
    joined = _first_event(scoped, pairs)
    found = joined.event_at.notnull()
    died_in_hospital = (destination == "died").fill_null(False)
    window_end = plus_days(joined._end.date(), outcome.days_after_discharge)
    status = ibis.cases(
        (~joined.index_is_inpatient | died_in_hospital, NOT_APPLICABLE),
        (found, MEASURED),
        (still_in | (window_end > cutoff), NOT_DUE),
        (joined._end.isnull(), MISSING),
        else_=MEASURED,
    )
    value = ibis.cases((status != MEASURED, ibis.null("float64")), (found, 1.0), else_=0.0)
    return joined.mutate(value=value, status=status, window_end=window_end)


def _recurrence_within(t, pack, facts, outcome: RecurrenceWithin, cutoff, earlier):
    """A later qualifying event of the same condition after the index spell has ended."""
    coded = ibis.union(
        *[encounters_with_code(t, pack, rule) for rule in pack.cohort.inclusion], distinct=True
    )
    events = encounters_passing(t["encounters"], pack.cohort.index_event).semi_join(
        coded, ["encounter_id"]
    )
    events = events.select("patient_id", new_id=_.encounter_id, when=_.start_at)
    after = facts.mutate(_after=facts.spell_end_at.fill_null(facts.index_end_at))
    pairs = after.select(
        "episode_id", "patient_id", "index_encounter_id", "index_date", "_after"
    ).join(events, "patient_id")
    pairs = pairs.filter(
        (pairs.new_id != pairs.index_encounter_id)
        & (pairs.when >= pairs._after)
        & _in_window(pairs, pairs.when, outcome.window)
    )
    joined = _first_event(after, pairs)
    window_end = _window_end(joined, outcome.window)
    value, status = _event_or_zero(joined.event_at.notnull(), window_end, cutoff)
    return joined.mutate(value=value, status=status, window_end=window_end)


def _reoperation_within(t, pack, facts, outcome: ReoperationWithin, cutoff, earlier):
    """Among patients operated on in the window: another operation on a later day."""
    ops = _activities_in(t, pack, facts, outcome.codelist)
    ops = ops.filter(_in_window(ops, ops.when, outcome.window))
    ops = ops.mutate(op_date=ops.when.date())
    per = ops.group_by("episode_id").aggregate(first_op=ops.op_date.min())
    later = ops.join(per, "episode_id").filter(lambda r: r.op_date > r.first_op)
    first_later = later.group_by("episode_id").aggregate(event_at=later.when.min())
    joined = left_join(facts, per, "episode_id")
    joined = left_join(joined, first_later, "episode_id")
    operated = joined.first_op.notnull()
    found = joined.event_at.notnull()
    window_end = _window_end(joined, outcome.window)
    status = ibis.cases(
        (found, MEASURED),
        (~operated & (window_end > cutoff), NOT_DUE),
        (~operated, NOT_APPLICABLE),
        (window_end > cutoff, NOT_DUE),
        else_=MEASURED,
    )
    value = ibis.cases((status != MEASURED, ibis.null("float64")), (found, 1.0), else_=0.0)
    return joined.mutate(value=value, status=status, window_end=window_end)


def _length_of_stay(t, pack, facts, outcome: LengthOfStay, cutoff, earlier):
    end, _destination, still_in = _spell_scope(facts, outcome.admission)
    days = (end.epoch_seconds() - facts.index_at.epoch_seconds()) / 86400.0
    status = ibis.cases(
        (~facts.index_is_inpatient, NOT_APPLICABLE),
        (still_in, NOT_DUE),
        (end.isnull(), MISSING),
        else_=MEASURED,
    )
    return facts.mutate(
        value=(status == MEASURED).ifelse(days, ibis.null("float64")),
        status=status,
        event_at=end,
        window_end=ibis.null("date"),
    )


def _time_to_first_activity(t, pack, facts, outcome: TimeToFirstActivity, cutoff, earlier):
    """Clock from the index event or the emergency arrival; only those who had the
    activity are measured (the others are not applicable, or not due while the window is
    open)."""
    rows = _activities_in(t, pack, facts, outcome.codelist)
    start = rows.arrival_at if outcome.starting_from == "emergency_arrival" else rows.index_at
    rows = rows.filter(_in_window(rows, rows.when, outcome.window) & (rows.when >= start))
    joined = _first_event(facts, rows)
    clock = joined.arrival_at if outcome.starting_from == "emergency_arrival" else joined.index_at
    elapsed = (joined.event_at.epoch_seconds() - clock.epoch_seconds()) / SECONDS[outcome.unit]
    found = joined.event_at.notnull()
    window_end = _window_end(joined, outcome.window)
    status = ibis.cases((found, MEASURED), (window_end > cutoff, NOT_DUE), else_=NOT_APPLICABLE)
    return joined.mutate(
        value=found.ifelse(elapsed, ibis.null("float64")), status=status, window_end=window_end
    )


def _discharge_destination(t, pack, facts, outcome: DischargeDestinationOutcome, cutoff, earlier):
    end, destination, still_in = _spell_scope(facts, outcome.admission)
    good = destination.isin(list(outcome.destinations)).fill_null(False)
    status = ibis.cases(
        (~facts.index_is_inpatient, NOT_APPLICABLE),
        (still_in, NOT_DUE),
        (destination.isnull() | (destination == ""), MISSING),
        else_=MEASURED,
    )
    value = ibis.cases((status != MEASURED, ibis.null("float64")), (good, 1.0), else_=0.0)
    return facts.mutate(value=value, status=status, event_at=end, window_end=ibis.null("date"))


def _complication(t, pack, facts, outcome: Complication, cutoff, earlier):
    dx = _diagnoses_in(t, pack, facts, outcome.codelist, outcome.position)
    dx = dx.filter(_in_window(dx, dx.when, outcome.window))
    joined = _first_event(facts, dx)
    found = joined.event_at.notnull()
    window_end = _window_end(joined, outcome.window)
    value, status = _event_or_zero(found, window_end, cutoff)
    if outcome.among_codelist is not None:
        at_risk = _activities_in(t, pack, facts, outcome.among_codelist)
        at_risk = (
            at_risk.filter(_in_window(at_risk, at_risk.when, outcome.window))
            .select("episode_id")
            .distinct()
        )
        joined = left_join(joined, at_risk.mutate(_at_risk=ibis.literal(True)), "episode_id")
        exposed = joined._at_risk.fill_null(False)
        status = exposed.ifelse(status, NOT_APPLICABLE)
        value = exposed.ifelse(value, ibis.null("float64"))
    return joined.mutate(value=value, status=status, window_end=window_end)


def _rna_results(t: Tables, facts: ibis.Table, code: str) -> ibis.Table:
    o = (
        t["observations"]
        .filter(_.code == code)
        .select("patient_id", when=_.observed_at, text=_.value_text)
    )
    return facts.select("episode_id", "patient_id", "index_date", "cycle_start", "cycle_end").join(
        o, "patient_id"
    )


def _cure_svr12(t, pack, facts, outcome: CureSvr12, cutoff, earlier):
    """Among the treated: the first RNA result at least ``days_after_treatment`` days after
    the most recent treatment issue before it."""
    issues = _activities_in(t, pack, facts, outcome.treatment_codelist)
    issues = issues.join(facts.select("episode_id", "cycle_start", "cycle_end"), "episode_id")
    issues = issues.filter(issues.when.date().between(issues.cycle_start, issues.cycle_end))
    treated = issues.select("episode_id").distinct().mutate(_treated=ibis.literal(True))
    results = _rna_results(t, facts, outcome.observation)
    pairs = results.join(issues.select("episode_id", issue_at=_.when), "episode_id")
    pairs = pairs.filter(pairs.issue_at < pairs.when)
    latest = pairs.group_by(["episode_id", "when", "text"]).aggregate(
        last_issue=pairs.issue_at.max()
    )
    due = latest.filter(
        day_number(latest.when, latest.last_issue.date()) >= outcome.days_after_treatment
    )
    first = due.group_by("episode_id").aggregate(event_at=due.when.min())
    first = first.join(
        due, [first.episode_id == due.episode_id, first.event_at == due.when]
    ).select(first.episode_id, first.event_at, cured=(due.text == outcome.cured_value_text))
    first = first.group_by(["episode_id", "event_at"]).aggregate(cured=first.cured.max())
    joined = left_join(facts, treated, "episode_id")
    joined = left_join(joined, first, "episode_id")
    is_treated = joined._treated.fill_null(False)
    tested = joined.event_at.notnull()
    status = ibis.cases(
        (tested, MEASURED),
        (~joined.cycle_complete, NOT_DUE),
        (~is_treated, NOT_APPLICABLE),
        else_=MISSING,
    )
    value = tested.ifelse(joined.cured.ifelse(1.0, 0.0), ibis.null("float64"))
    return joined.mutate(value=value, status=status, window_end=_cycle_horizon(pack, joined))


def _reinfection_after_cure(t, pack, facts, outcome: ReinfectionAfterCure, cutoff, earlier):
    cure = earlier[outcome.cure_outcome].select(
        "episode_id", cure_value=_.value, cure_at=_.event_at
    )
    joined = facts.join(cure, "episode_id")
    cured = (joined.cure_value == 1.0).fill_null(False)
    results = t["observations"].filter(
        (_.code == outcome.observation) & (_.value_text == outcome.value_text)
    )
    results = results.select("patient_id", when=_.observed_at)
    pairs = (
        joined.filter(cured)
        .select("episode_id", "patient_id", "cure_at")
        .join(results, "patient_id")
    )
    pairs = pairs.filter(
        (pairs.when > pairs.cure_at)
        & (day_number(pairs.when, pairs.cure_at.date()) <= outcome.within_days_of_cure)
    )
    joined = _first_event(joined, pairs)
    cured = (joined.cure_value == 1.0).fill_null(False)
    found = joined.event_at.notnull()
    window_end = plus_days(joined.cure_at.date(), outcome.within_days_of_cure)
    value, status = _event_or_zero(found, window_end, cutoff)
    status = cured.ifelse(status, NOT_APPLICABLE)
    value = cured.ifelse(value, ibis.null("float64"))
    return joined.mutate(value=value, status=status, window_end=window_end)


def _days_at_home(t, pack, facts, outcome: DaysAtHome, cutoff, earlier):
    """Days in the window minus days dead minus nights in an inpatient bed."""
    window = outcome.window
    start = plus_days(facts.index_date, window.from_day)
    end = plus_days(facts.index_date, window.to_day)
    bounds = facts.select("episode_id", "patient_id", w_start=start, w_end=end)
    stays = (
        t["encounters"]
        .filter(_.setting == "inpatient")
        .select("patient_id", s_start=_.start_at.date(), s_end=_.end_at.date())
    )
    pairs = bounds.join(stays, "patient_id")
    # An open stay runs to the window's end (nights after the cut-off make it not due anyway).
    stay_end = pairs.s_end.fill_null(pairs.w_end)
    first = ibis.greatest(pairs.s_start, pairs.w_start)
    last = ibis.least(stay_end, plus_days(pairs.w_end, 1))
    nights = last.delta(first, unit="day")
    pairs = pairs.filter(nights > 0).mutate(nights=nights)
    in_bed = pairs.group_by("episode_id").aggregate(nights=pairs.nights.sum())
    joined = left_join(facts, in_bed, "episode_id")
    length = window.to_day - window.from_day + 1
    dead_from = ibis.greatest(joined.death_date, start)
    dead_days = (joined.death_date.notnull() & (joined.death_date <= end)).ifelse(
        end.delta(dead_from, unit="day") + 1, 0
    )
    at_home = ibis.greatest(length - dead_days - joined.nights.fill_null(0), 0)
    died_in_window = joined.death_date.notnull() & (joined.death_date <= end)
    status = ibis.cases((died_in_window, MEASURED), (end > cutoff, NOT_DUE), else_=MEASURED)
    value = (status == MEASURED).ifelse(at_home.cast("float64"), ibis.null("float64"))
    return joined.mutate(
        value=value, status=status, event_at=ibis.null("timestamp"), window_end=end
    )


def _clinician_score(t, pack, facts, outcome: ClinicianScore, cutoff, earlier):
    o = (
        t["observations"]
        .filter(_.code == outcome.observation)
        .select("patient_id", when=_.observed_at, v=_.value_num)
    )
    rows = facts.select("episode_id", "patient_id", "index_date").join(o, "patient_id")
    rows = rows.filter(_in_window(rows, rows.when, outcome.window) & rows.v.notnull())
    pick = {
        "first": lambda r: r.v.argmin(r.when),
        "last": lambda r: r.v.argmax(r.when),
        "highest": lambda r: r.v.max(),
        "lowest": lambda r: r.v.min(),
    }[outcome.reading]
    per = rows.group_by("episode_id").aggregate(score=pick(rows), event_at=rows.when.min())
    joined = left_join(facts, per, "episode_id")
    found = joined.score.notnull()
    window_end = _window_end(joined, outcome.window)
    status = ibis.cases((found, MEASURED), (window_end > cutoff, NOT_DUE), else_=MISSING)
    return joined.mutate(value=joined.score, status=status, window_end=window_end)


def _cascade_step(t, pack, facts, outcome: CascadeStep, cutoff, earlier):
    """Reached when the evidence is in the cycle and the previous step was reached."""
    evidence = outcome.evidence
    if evidence.outcome is not None:
        other = earlier[evidence.outcome]
        reached = other.filter(other.value == 1.0).select("episode_id", when=_.event_at)
    elif evidence.observation is not None:
        o = t["observations"].filter(
            (_.code == evidence.observation) & (_.value_text == evidence.value_text)
        )
        rows = facts.select("episode_id", "patient_id", "cycle_start", "cycle_end").join(
            o.select("patient_id", when=_.observed_at), "patient_id"
        )
        reached = rows.filter(rows.when.date().between(rows.cycle_start, rows.cycle_end))
    else:
        if _is_diagnosis_list(pack, evidence.codelist):
            rows = _diagnoses_in(t, pack, facts, evidence.codelist, "any").select(
                "episode_id", "when"
            )
        else:
            rows = _activities_in(t, pack, facts, evidence.codelist).select("episode_id", "when")
        rows = rows.join(facts.select("episode_id", "cycle_start", "cycle_end"), "episode_id")
        reached = rows.filter(rows.when.date().between(rows.cycle_start, rows.cycle_end))
    joined = _first_event(facts, reached.select("episode_id", "when"))
    found = joined.event_at.notnull()
    if outcome.previous_step is not None:
        previous = earlier[outcome.previous_step].select("episode_id", _prev=_.value)
        joined = left_join(joined, previous, "episode_id")
        found = found & (joined._prev == 1.0).fill_null(False)
    status = ibis.cases((found, MEASURED), (~joined.cycle_complete, NOT_DUE), else_=MEASURED)
    value = ibis.cases((found, 1.0), (~joined.cycle_complete, ibis.null("float64")), else_=0.0)
    return joined.mutate(
        value=value,
        status=status,
        event_at=found.ifelse(joined.event_at, None),
        window_end=_cycle_horizon(pack, joined),
    )


def _cycle_horizon(pack: ConditionPack, facts: ibis.Table) -> ir.DateValue:
    """The last day the cycle could run to. An event-ended cycle (hepatitis C) ends early
    for the patients who reached the event, so only its longest possible end says when
    everyone's result is in."""
    end = pack.care_cycle.end
    if isinstance(end, EventEnd):
        return plus_days(facts.index_date, end.max_days)
    return facts.cycle_end


def _is_diagnosis_list(pack: ConditionPack, codelist_id: str) -> bool:
    """A code list of ICD-10 codes is read from diagnoses; any other from activities."""
    return pack.codelist(codelist_id).systems <= {"ICD10"}
