"""The management loop's records and their write layer: each write one audit event with
its actor; who may change what (role for the condition and membership of the team);
plain-sentence refusals; overdue actions; service changes in the run's shape. The app's
own test database only (no published trust)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from carevalue.errors import UserError
from carevalue.web import management_actions as m
from carevalue.web.models import AuditEvent, Opportunity
from carevalue.web.permissions import (
    MANAGE_IMPROVEMENT,
    MANAGE_TEAMS,
    VIEW_IMPROVEMENT,
    has_permission,
    may_change_team,
    may_view_team,
)

STROKE, ENDO = "stroke", "infective_endocarditis"
TODAY = dt.date(2026, 12, 8)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """These tests make many users and test no passwords: hash them cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def teams(make_user):
    """A stroke team and an endocarditis team, each with a lead and a nurse, set up by a
    service manager for every condition."""
    manager = make_user("service_manager", "", "manager")
    stroke_lead = make_user("team_lead", STROKE, "stroke-lead")
    endo_lead = make_user("team_lead", ENDO, "endo-lead")
    stroke = m.create_team(condition=STROKE, name="Stroke MDT", by=manager, lead=stroke_lead)
    endo = m.create_team(condition=ENDO, name="Endocarditis MDT", by=manager, lead=endo_lead)
    nurse = make_user("clinician", STROKE, "stroke-nurse")
    m.add_member(team=stroke, user=nurse, team_role="nurse", by=stroke_lead)
    return {
        "manager": manager,
        "stroke": stroke,
        "endo": endo,
        "stroke_lead": stroke_lead,
        "endo_lead": endo_lead,
        "nurse": nurse,
    }


def one_event(action: str, user) -> AuditEvent:
    """The one audit event of ``action``, made by ``user``."""
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, (action, events)
    assert events[0].user == user and events[0].username == user.get_username()
    return events[0]


def test_every_write_makes_one_audit_event_naming_its_actor(teams, make_user):
    lead, stroke, nurse = teams["stroke_lead"], teams["stroke"], teams["nurse"]
    created = AuditEvent.objects.filter(action="create_team")
    assert [(e.username, e.condition) for e in created.order_by("id")] == [
        ("manager", STROKE),
        ("manager", ENDO),
    ]
    one_event("add_team_member", lead)
    writes_so_far = AuditEvent.objects.exclude(action="create_user").count
    before = writes_so_far()

    writes = [
        (
            "record_opportunity",
            lambda: m.record_opportunity(
                team=stroke,
                kind="team",
                title="Door to needle",
                reason="Slow at weekends",
                by=lead,
            ),
        ),
        (
            "dismiss_opportunity",
            lambda: m.dismiss_opportunity(
                opportunity=m.record_opportunity(
                    team=stroke, kind="team", title="Parking", reason="Hard", by=None
                ),
                reason="Not a pathway matter",
                by=lead,
            ),
        ),
    ]
    for action, write in writes:
        write()
        one_event(action, lead)
    first = Opportunity.objects.get(title="Door to needle")
    duplicate = m.record_opportunity(team=stroke, kind="team", title="Dup", reason="x", by=nurse)
    m.merge_opportunity(opportunity=duplicate, into=first, by=nurse)
    one_event("merge_opportunity", nurse)

    hypothesis = m.write_hypothesis(
        team=stroke,
        statement="A pre-alert from the ambulance cuts door to needle time",
        metrics=[("door_to_needle", "decrease"), ("mrs_90", "decrease")],
        opportunity=first,
        by=lead,
    )
    one_event("write_hypothesis", lead)
    assert [(x.metric, x.direction) for x in hypothesis.metrics.all()] == [
        ("door_to_needle", "decrease"),
        ("mrs_90", "decrease"),
    ]
    m.set_hypothesis_status(hypothesis=hypothesis, status="supported", by=lead)
    one_event("set_hypothesis_status", lead)
    cycle = m.record_pdsa_cycle(
        hypothesis=hypothesis, plan="Pre-alert on weekdays for a month", started=TODAY, by=nurse
    )
    one_event("record_pdsa_cycle", nurse)
    m.update_pdsa_cycle(cycle=cycle, study="Median fell 9 minutes", by=nurse)
    one_event("update_pdsa_cycle", nurse)
    action = m.assign_action(
        team=stroke,
        title="Agree the pre-alert with the ambulance trust",
        owner=nurse,
        due_date=TODAY,
        hypothesis=hypothesis,
        by=lead,
    )
    one_event("assign_action", lead)
    m.reassign_action(action=action, due_date=TODAY + dt.timedelta(days=7), by=lead)
    one_event("reassign_action", lead)
    m.comment_on_action(action=action, text="Meeting booked", by=nurse)
    one_event("comment_on_action", nurse)
    m.set_action_status(action=action, status="done", by=nurse)
    event = one_event("set_action_status", nurse)
    assert event.condition == STROKE and event.detail["after"] == "done"
    assert action.closed_at is not None
    change = m.record_service_change(
        team=stroke,
        title="Ambulance pre-alert",
        change_date=dt.date(2024, 3, 1),
        hypothesis=hypothesis,
        investment_one_off="12000",
        investment_recurring=Decimal("3500.50"),
        by=lead,
    )
    one_event("record_service_change", lead)
    assert change.condition == STROKE and change.review_months == [3, 6, 12]
    assert change.investment_one_off == Decimal("12000.00")
    other = make_user("clinician", STROKE, "therapist")
    m.add_member(team=stroke, user=other, team_role="therapist", by=teams["manager"])
    m.remove_member(team=stroke, user=other, by=lead)
    one_event("remove_team_member", lead)
    # The command line's data-found opportunity is audited as the command line.
    m.record_opportunity(
        team=stroke, kind="spc_signal", title="Run", reason="8 above", run_id="r1", key="k", by=None
    )
    system = AuditEvent.objects.filter(action="record_opportunity", run_id="r1").get()
    assert system.user is None and system.username == "carevalue (command line)"
    # 2 opportunities (one from the command line inside the dismiss write) + 15 other writes
    assert writes_so_far() - before == 17


def test_a_finding_seen_again_by_the_next_run_is_not_added_twice(teams):
    stroke = teams["stroke"]
    found = {"team": stroke, "kind": "cost_driver", "title": "Imaging", "reason": "Costly"}
    first = m.record_opportunity(**found, run_id="r1", key="cost:imaging", by=None)
    m.dismiss_opportunity(opportunity=first, reason="Already audited", by=teams["nurse"])
    again = m.record_opportunity(**found, run_id="r2", key="cost:imaging", by=None)
    assert again.pk == first.pk and again.status == "dismissed" and again.run_id == "r1"
    assert AuditEvent.objects.filter(action="record_opportunity").count() == 1
    assert first.source == "data"


def test_roles_carry_the_management_permissions_consistently(make_user):
    expected = {
        # role: (view, manage improvement, manage teams)
        "clinician": (True, True, False),
        "team_lead": (True, True, False),
        "service_manager": (True, True, True),
        "finance": (True, True, False),
        "commissioner": (True, False, False),
        "administrator": (True, False, True),
    }
    for role, (view, manage, teams_) in expected.items():
        user = make_user(role, STROKE)
        assert has_permission(user, VIEW_IMPROVEMENT, condition=STROKE) is view, role
        assert has_permission(user, MANAGE_IMPROVEMENT, condition=STROKE) is manage, role
        assert has_permission(user, MANAGE_TEAMS, condition=STROKE) is teams_, role
        assert not has_permission(user, VIEW_IMPROVEMENT, condition=ENDO), role


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("clinician", True),
        ("team_lead", True),
        ("service_manager", True),
        ("finance", True),
        ("commissioner", False),
    ],
)
def test_members_change_their_team_by_role_and_commissioners_only_read(teams, make_user, role, may):
    stroke = teams["stroke"]
    user = make_user(role, STROKE, f"member-{role}")
    m.add_member(team=stroke, user=user, team_role="clinician", by=teams["stroke_lead"])
    assert may_view_team(user, stroke)
    assert may_change_team(user, stroke) is may
    write = lambda: m.record_opportunity(  # noqa: E731
        team=stroke, kind="team", title="T", reason="R", by=user
    )
    if may:
        assert write().created_by == user
    else:
        with pytest.raises(m.NotAllowed, match="may not change the records of Stroke MDT"):
            write()
        assert not AuditEvent.objects.filter(action="record_opportunity").exists()


def test_a_member_of_one_team_is_refused_on_another(teams, make_user):
    stroke_lead, endo = teams["stroke_lead"], teams["endo"]
    # the stroke lead holds no role for endocarditis: refused on its team
    endo_item = m.record_opportunity(team=endo, kind="team", title="T", reason="R", by=None)
    with pytest.raises(m.NotAllowed, match="Endocarditis MDT"):
        m.dismiss_opportunity(opportunity=endo_item, reason="no", by=stroke_lead)
    with pytest.raises(m.NotAllowed):
        m.add_member(team=endo, user=teams["nurse"], team_role="nurse", by=stroke_lead)
    # a clinician for every condition, but a member of the stroke team only
    everywhere = make_user("clinician", "", "clinician-everywhere")
    m.add_member(team=teams["stroke"], user=everywhere, team_role="clinician", by=stroke_lead)
    with pytest.raises(m.NotAllowed):
        m.write_hypothesis(team=endo, statement="S", metrics=[("x", "increase")], by=everywhere)
    with pytest.raises(m.NotAllowed):
        m.record_service_change(team=endo, title="T", change_date=TODAY, by=everywhere)
    # a service manager sets teams up but is not a member: cannot change their records
    with pytest.raises(m.NotAllowed):
        m.record_opportunity(team=endo, kind="team", title="T", reason="R", by=teams["manager"])
    # an anonymous request is refused
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(m.NotAllowed, match="A user who is not logged in may not"):
        m.comment_on_action(
            action=m.assign_action(
                team=endo, title="A", owner=teams["endo_lead"], due_date=TODAY, by=None
            ),
            text="hello",
            by=AnonymousUser(),
        )
    assert (
        AuditEvent.objects.filter(
            action__in=["dismiss_opportunity", "write_hypothesis", "comment_on_action"]
        ).count()
        == 0
    )


def test_only_a_lead_or_a_team_manager_changes_who_is_in_a_team(teams, make_user):
    stroke, nurse = teams["stroke"], teams["nurse"]
    newcomer = make_user("clinician", STROKE, "newcomer")
    with pytest.raises(m.NotAllowed, match="only its lead"):
        m.add_member(team=stroke, user=newcomer, team_role="clinician", by=nurse)
    with pytest.raises(m.NotAllowed, match="may not set up teams for stroke"):
        m.create_team(condition=STROKE, name="Second", by=teams["stroke_lead"])
    stranger = make_user("clinician", ENDO, "endo-only")
    with pytest.raises(UserError, match="holds no role for stroke"):
        m.add_member(team=stroke, user=stranger, team_role="nurse", by=teams["stroke_lead"])
    with pytest.raises(UserError, match="only lead"):
        m.remove_member(team=stroke, user=teams["stroke_lead"], by=teams["manager"])
    with pytest.raises(UserError, match="already has a team"):
        m.create_team(condition=STROKE, name="Stroke MDT", by=teams["manager"])


def test_dismissing_needs_a_reason_and_other_mistakes_are_one_sentence(teams, make_user):
    stroke, lead, nurse = teams["stroke"], teams["stroke_lead"], teams["nurse"]
    item = m.record_opportunity(team=stroke, kind="team", title="Weekend", reason="R", by=lead)
    for blank in ("", "   "):
        with pytest.raises(UserError, match="a dismissal needs a reason"):
            m.dismiss_opportunity(opportunity=item, reason=blank, by=lead)
    item.refresh_from_db()
    assert (
        item.status == "open"
        and not AuditEvent.objects.filter(action="dismiss_opportunity").exists()
    )
    m.dismiss_opportunity(opportunity=item, reason="Covered by the regional audit", by=lead)
    item.refresh_from_db()
    assert (item.status, item.dismiss_reason, item.closed_by) == (
        "dismissed",
        "Covered by the regional audit",
        lead,
    )
    with pytest.raises(UserError, match="already dismissed"):
        m.dismiss_opportunity(opportunity=item, reason="again", by=lead)
    other = m.record_opportunity(team=stroke, kind="team", title="Other", reason="R", by=lead)
    with pytest.raises(UserError, match="merge into an open opportunity"):
        m.merge_opportunity(opportunity=other, into=item, by=lead)
    with pytest.raises(UserError, match="into itself"):
        m.merge_opportunity(opportunity=other, into=other, by=lead)
    with pytest.raises(UserError, match="not a kind of opportunity"):
        m.record_opportunity(team=stroke, kind="hunch", title="T", reason="R", by=lead)
    with pytest.raises(UserError, match="at least one metric"):
        m.write_hypothesis(team=stroke, statement="S", metrics=[], by=lead)
    with pytest.raises(UserError, match="not a direction"):
        m.write_hypothesis(team=stroke, statement="S", metrics=[("los", "up")], by=lead)
    outsider = make_user("clinician", STROKE, "not-a-member")
    with pytest.raises(UserError, match="not a member of Stroke MDT"):
        m.assign_action(team=stroke, title="A", owner=outsider, due_date=TODAY, by=lead)
    action = m.assign_action(team=stroke, title="A", owner=nurse, due_date=TODAY, by=lead)
    with pytest.raises(UserError, match="owns 1 open action"):
        m.remove_member(team=stroke, user=nurse, by=lead)
    with pytest.raises(UserError, match="already open"):
        m.set_action_status(action=action, status="open", by=lead)
    hypothesis = m.write_hypothesis(
        team=stroke, statement="S", metrics=[("x", "increase")], by=lead
    )
    with pytest.raises(UserError, match="cannot end"):
        m.record_pdsa_cycle(
            hypothesis=hypothesis, plan="P", started=TODAY, ended=TODAY - dt.timedelta(1), by=lead
        )
    with pytest.raises(UserError, match="cannot be negative"):
        m.record_service_change(
            team=stroke, title="T", change_date=TODAY, investment_one_off=-1, by=lead
        )
    for months in ([0], [], ["six"]):
        with pytest.raises(UserError, match="Review points"):
            m.record_service_change(
                team=stroke, title="T", change_date=TODAY, review_months=months, by=lead
            )
    with pytest.raises(UserError, match="amount in pounds"):
        m.record_service_change(
            team=stroke, title="T", change_date=TODAY, investment_recurring="lots", by=lead
        )
    endo_hypothesis = m.write_hypothesis(
        team=teams["endo"], statement="S", metrics=[("x", "increase")], by=None
    )
    with pytest.raises(UserError, match="belongs to Endocarditis MDT"):
        m.record_service_change(
            team=stroke, title="T", change_date=TODAY, hypothesis=endo_hypothesis, by=lead
        )


def test_overdue_actions_for_an_owner_and_for_a_team(teams, make_user):
    stroke, endo, lead, nurse = teams["stroke"], teams["endo"], teams["stroke_lead"], teams["nurse"]
    day = dt.timedelta(days=1)
    late = m.assign_action(
        team=stroke, title="Late", owner=nurse, due_date=TODAY - 3 * day, by=lead
    )
    later = m.assign_action(team=stroke, title="Later", owner=lead, due_date=TODAY - day, by=lead)
    m.assign_action(team=stroke, title="Due today", owner=nurse, due_date=TODAY, by=lead)
    done = m.assign_action(team=stroke, title="Done", owner=nurse, due_date=TODAY - day, by=lead)
    m.set_action_status(action=done, status="done", by=nurse)
    cancelled = m.assign_action(
        team=stroke, title="Off", owner=nurse, due_date=TODAY - day, by=lead
    )
    m.set_action_status(action=cancelled, status="cancelled", by=lead)
    m.assign_action(
        team=endo, title="Endo", owner=teams["endo_lead"], due_date=TODAY - day, by=None
    )
    assert list(m.overdue_actions(nurse, TODAY)) == [late]
    assert list(m.overdue_actions(stroke, TODAY)) == [late, later]
    assert [a.title for a in m.overdue_actions(endo, TODAY)] == ["Endo"]
    m.set_action_status(action=done, status="open", by=nurse)  # reopened: overdue again
    assert list(m.overdue_actions(nurse, TODAY)) == [late, done]
    assert m.overdue_actions(nurse, TODAY - 10 * day).count() == 0


def test_service_changes_frame_is_what_the_run_records(teams, tmp_path):
    from carevalue.runs import SERVICE_CHANGES_TABLE, _service_changes, record_service_changes
    from carevalue.synthetic.service_change import demo_service_changes
    from carevalue.value.metric_charts import _change_months
    from carevalue.warehouse import connect

    assert list(m.service_changes_frame().columns) == list(m.SERVICE_CHANGE_COLUMNS)
    assert m.service_changes_frame().empty
    m.record_service_change(
        team=teams["endo"],
        title="multidisciplinary endocarditis team",
        change_date=dt.date(2021, 10, 1),
        by=teams["endo_lead"],
    )
    m.record_service_change(
        team=teams["stroke"],
        title="Pre-alert at one site",
        change_date=dt.date(2024, 3, 15),
        segment_type="site",
        segment="North",
        by=teams["stroke_lead"],
    )
    frame = m.service_changes_frame()

    # the demo's frame (what `carevalue demo` records today) is ours without a segment
    (tmp_path / "manifest.json").write_text(
        '{"truths": {"endocarditis": {"service_change_date": "2021-10-01",'
        ' "service_change": "multidisciplinary endocarditis team"}}}'
    )
    demo = demo_service_changes(tmp_path)
    assert set(demo.columns) <= set(frame.columns)
    assert frame["change_date"].dtype == demo["change_date"].dtype
    endo_row = frame[frame["condition"] == ENDO]
    pd.testing.assert_frame_equal(
        endo_row[list(demo.columns)].astype(object).reset_index(drop=True),
        demo.astype(object),
    )
    assert endo_row["segment_type"].isna().all() and endo_row["segment"].isna().all()

    # the run records it and reads it back; the charts place each change
    con = connect("duckdb://:memory:")
    record_service_changes(con, frame)
    assert SERVICE_CHANGES_TABLE in con.list_tables()
    back = _service_changes(con)
    assert list(back.columns) == list(frame.columns) and len(back) == 2
    months = _change_months(back).sort_values("condition").reset_index(drop=True)
    assert months.to_dict("records") == [
        # October 2021 starts its month: rebased there; 15 March 2024 rebases at April
        {"condition": ENDO, "segment_type": None, "segment": None, "month": 51 * 12 + 9},
        {"condition": STROKE, "segment_type": "site", "segment": "North", "month": 54 * 12 + 3},
    ]


def test_a_lead_must_be_able_to_change_the_records_and_teams_are_listed_by_membership(
    teams, make_user
):
    reader = make_user("commissioner", STROKE, "commissioner-stroke")
    with pytest.raises(UserError, match="cannot lead it"):
        m.add_member(team=teams["stroke"], user=reader, team_role="lead", by=teams["manager"])
    # read-only membership (e.g. a patient representative holding a read-only role)
    m.add_member(
        team=teams["stroke"],
        user=reader,
        team_role="patient_representative",
        by=teams["manager"],
    )
    assert list(m.member_teams(reader)) == [teams["stroke"]]
    assert m.visible_teams(reader) == [teams["stroke"]]
    assert m.visible_teams(teams["manager"]) == [teams["endo"], teams["stroke"]]
    assert list(m.member_teams(teams["manager"])) == []
    cycle = m.record_pdsa_cycle(
        hypothesis=m.write_hypothesis(
            team=teams["stroke"], statement="S", metrics=[("x", "increase")], by=None
        ),
        plan="P",
        started=TODAY,
        by=teams["nurse"],
    )
    with pytest.raises(UserError, match="cannot end"):
        m.update_pdsa_cycle(cycle=cycle, ended=TODAY - dt.timedelta(days=1), by=teams["nurse"])
    cycle.refresh_from_db()
    assert cycle.ended is None
    with pytest.raises(m.NotAllowed):
        m.update_pdsa_cycle(cycle=cycle, act="Adopt", by=reader)
