"""Every write of the value-based management loop, as ``carevalue.web.actions`` does it:
keyword-only, ``by=`` the acting user, one transaction, one audit event.

Who may: setting up a team and its members needs ``manage_teams`` for the condition (or
being the team's lead); changing a team's records needs ``manage_improvement`` for the
condition and membership of that team (``permissions.may_change_team``). A refusal is
``NotAllowed`` (Django's ``PermissionDenied``: a 403 in a view) with one sentence; a user's
mistake (no dismiss reason, an owner outside the team) is a ``UserError`` with one
sentence. ``by=None`` is the command line (the server's operator), trusted and audited as
such; a view always passes ``request.user``, so an anonymous request is refused.

Also the read helpers the pages and the run need: ``overdue_actions`` and
``service_changes_frame`` (the shape ``carevalue.runs.record_service_changes`` takes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from carevalue.errors import UserError
from carevalue.web.actions import _audit
from carevalue.web.management_models import (
    ACTION_STATUSES,
    DEFAULT_REVIEW_MONTHS,
    DIRECTIONS,
    HYPOTHESIS_STATUSES,
    OPPORTUNITY_KINDS,
    TEAM_ROLES,
    Action,
    ActionComment,
    Hypothesis,
    HypothesisMetric,
    Opportunity,
    PdsaCycle,
    ServiceChange,
    Team,
    TeamMembership,
)
from carevalue.web.permissions import (
    MANAGE_IMPROVEMENT,
    MANAGE_TEAMS,
    VIEW_IMPROVEMENT,
    has_permission,
    may_change_team,
    may_manage_members,
    may_view_team,
)


class NotAllowed(PermissionDenied):
    """The acting user may not make this change; ``str(error)`` says why in one sentence."""


# ------------------------------------------------------------------------ checks


def _name(user) -> str:
    if user is None:
        return "the command line"
    return user.get_username() or "A user who is not logged in"


def _require_change(by, team: Team) -> None:
    if by is not None and not may_change_team(by, team):
        raise NotAllowed(
            f"{_name(by)} may not change the records of {team.name}: only its members "
            f"with a clinical, management or finance role for {team.condition} may."
        )


def _require_members(by, team: Team) -> None:
    if by is not None and not may_manage_members(by, team):
        raise NotAllowed(
            f"{_name(by)} may not change who is in {team.name}: only its lead or a "
            f"service manager or administrator for {team.condition} may."
        )


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise UserError(f"Give the {what}; it cannot be blank.")
    return value


def _choice(value: str, labels: dict[str, str], what: str) -> str:
    if value not in labels:
        raise UserError(f"{value!r} is not a {what}; choose one of {', '.join(labels)}.")
    return value


def _same_team(item, team: Team, what: str) -> None:
    if item is not None and item.team_id != team.pk:
        raise UserError(f"That {what} belongs to {item.team.name}, not {team.name}.")


def _money(value, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise UserError(f"The {what} must be an amount in pounds, such as 12000.") from None
    if amount < 0:
        raise UserError(f"The {what} cannot be negative.")
    if amount >= 10**10:
        raise UserError(f"The {what} must be under £10,000,000,000.")
    return amount


def _audited(by, what: str, team: Team, /, **detail):
    """The one audit event of a write to ``team``'s records (``what``: the write's name)."""
    return _audit(by=by, action=what, condition=team.condition, detail={"team": team.pk, **detail})


# ------------------------------------------------------------------------ teams


def create_team(*, condition: str, name: str, by, lead=None) -> Team:
    """A team for ``condition``'s pathway; ``lead`` (optional) becomes its first lead."""
    condition, name = _text(condition, "condition"), _text(name, "team name")
    if by is not None and not has_permission(by, MANAGE_TEAMS, condition=condition):
        raise NotAllowed(
            f"{_name(by)} may not set up teams for {condition}: only a service manager or "
            "administrator for it may."
        )
    if Team.objects.filter(condition=condition, name=name).exists():
        raise UserError(f"{condition} already has a team called {name!r}; choose another name.")
    with transaction.atomic():
        team = Team.objects.create(condition=condition, name=name)
        if lead is not None:
            _check_may_join(lead, team, "lead")
            TeamMembership.objects.create(team=team, user=lead, team_role="lead")
        _audited(by, "create_team", team, name=name, lead=lead.get_username() if lead else None)
    return team


def _check_may_join(user, team: Team, team_role: str) -> None:
    name = user.get_username()
    if not has_permission(user, VIEW_IMPROVEMENT, condition=team.condition):
        raise UserError(
            f"{name} holds no role for {team.condition}; give them one before adding them "
            "to the team."
        )
    if team_role == "lead" and not has_permission(
        user, MANAGE_IMPROVEMENT, condition=team.condition
    ):
        raise UserError(
            f"{name}'s role for {team.condition} cannot change the team's records, so they "
            "cannot lead it; give them a clinical or management role first."
        )


def add_member(*, team: Team, user, team_role: str, by) -> TeamMembership:
    """Add ``user`` to ``team`` with a team role (``TEAM_ROLES``), or change their role."""
    _choice(team_role, TEAM_ROLES, "team role")
    _require_members(by, team)
    _check_may_join(user, team, team_role)
    with transaction.atomic():
        membership, created = TeamMembership.objects.update_or_create(
            team=team, user=user, defaults={"team_role": team_role}
        )
        _audited(
            by,
            "add_team_member" if created else "change_team_role",
            team,
            member=user.get_username(),
            team_role=team_role,
        )
    return membership


def remove_member(*, team: Team, user, by) -> None:
    """Take ``user`` off ``team``. Refused while they own open actions (reassign them first)
    or when they are its last lead."""
    _require_members(by, team)
    membership = TeamMembership.objects.filter(team=team, user=user).first()
    if membership is None:
        raise UserError(f"{user.get_username()} is not a member of {team.name}.")
    open_actions = team.actions.filter(owner=user, status="open").count()
    if open_actions:
        raise UserError(
            f"{user.get_username()} owns {open_actions} open action(s) of {team.name}; "
            "give them to someone else first."
        )
    leads = team.memberships.filter(team_role="lead")
    if membership.team_role == "lead" and leads.count() == 1:
        raise UserError(f"{user.get_username()} is the only lead of {team.name}; name another.")
    with transaction.atomic():
        membership.delete()
        _audited(by, "remove_team_member", team, member=user.get_username())


# ------------------------------------------------------------------------ opportunities


def record_opportunity(
    *,
    team: Team,
    kind: str,
    title: str,
    reason: str,
    by,
    run_id: str = "",
    key: str = "",
    metric: str = "",
    segment_type: str = "",
    segment: str = "",
    score: float | None = None,
) -> Opportunity:
    """An opportunity found in a run's data (``run_id`` and a stable ``key`` given; usually
    ``by=None``) or raised by the team (neither). A finding whose ``key`` the team already
    has is returned as it is, whatever its status (a dismissed one stays dismissed), and
    nothing is written."""
    _choice(kind, OPPORTUNITY_KINDS, "kind of opportunity")
    title, reason = _text(title, "title"), _text(reason, "reason")
    _require_change(by, team)
    source = "data" if run_id else "team"
    if key:
        existing = team.opportunities.filter(key=key).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        opportunity = Opportunity.objects.create(
            team=team,
            kind=kind,
            title=title,
            reason=reason,
            source=source,
            run_id=run_id,
            key=key,
            metric=metric,
            segment_type=segment_type,
            segment=segment,
            score=score,
            created_by=by,
        )
        _audit(
            by=by,
            action="record_opportunity",
            condition=team.condition,
            run_id=run_id,
            detail={"team": team.pk, "opportunity": opportunity.pk, "kind": kind, "title": title},
        )
    return opportunity


def _require_open(opportunity: Opportunity) -> None:
    if opportunity.status != "open":
        raise UserError(f"{opportunity.title!r} is already {opportunity.status}.")


def dismiss_opportunity(*, opportunity: Opportunity, reason: str, by) -> Opportunity:
    """Close an opportunity the team will not work on; the reason is required (the next
    meeting and the audit read it)."""
    _require_change(by, opportunity.team)
    reason = (reason or "").strip()
    if not reason:
        raise UserError(f"Say why {opportunity.title!r} is dismissed; a dismissal needs a reason.")
    _require_open(opportunity)
    with transaction.atomic():
        opportunity.status, opportunity.dismiss_reason = "dismissed", reason
        opportunity.closed_by, opportunity.closed_at = by, timezone.now()
        opportunity.save(update_fields=["status", "dismiss_reason", "closed_by", "closed_at"])
        _audited(
            by, "dismiss_opportunity", opportunity.team, opportunity=opportunity.pk, reason=reason
        )
    return opportunity


def merge_opportunity(*, opportunity: Opportunity, into: Opportunity, by) -> Opportunity:
    """Fold ``opportunity`` into ``into`` (the same team's, still open): the same problem
    seen twice. Its hypotheses move with it."""
    _require_change(by, opportunity.team)
    if into.pk == opportunity.pk:
        raise UserError("An opportunity cannot be merged into itself.")
    _same_team(into, opportunity.team, "opportunity")
    _require_open(opportunity)
    if into.status != "open":
        raise UserError(f"{into.title!r} is {into.status}; merge into an open opportunity.")
    with transaction.atomic():
        opportunity.status, opportunity.merged_into = "merged", into
        opportunity.closed_by, opportunity.closed_at = by, timezone.now()
        opportunity.save(update_fields=["status", "merged_into", "closed_by", "closed_at"])
        opportunity.hypotheses.update(opportunity=into)
        _audited(
            by, "merge_opportunity", opportunity.team, opportunity=opportunity.pk, into=into.pk
        )
    return opportunity


# ------------------------------------------------------------------------ hypotheses


def write_hypothesis(
    *,
    team: Team,
    statement: str,
    metrics: Iterable[tuple[str, str]],
    by,
    opportunity: Opportunity | None = None,
) -> Hypothesis:
    """A hypothesis and the metrics it expects to move: (metric id, "increase" or
    "decrease") pairs, at least one."""
    statement = _text(statement, "hypothesis")
    metrics = [(str(m).strip(), d) for m, d in metrics]
    if not metrics:
        raise UserError("Name at least one metric the hypothesis expects to move.")
    for metric, direction in metrics:
        _text(metric, "metric")
        _choice(direction, DIRECTIONS, "direction")
    if len({m for m, _ in metrics}) < len(metrics):
        raise UserError("Each metric can be named once in a hypothesis.")
    _require_change(by, team)
    _same_team(opportunity, team, "opportunity")
    with transaction.atomic():
        hypothesis = Hypothesis.objects.create(
            team=team, statement=statement, opportunity=opportunity, created_by=by
        )
        HypothesisMetric.objects.bulk_create(
            HypothesisMetric(hypothesis=hypothesis, metric=m, direction=d) for m, d in metrics
        )
        _audited(
            by,
            "write_hypothesis",
            team,
            hypothesis=hypothesis.pk,
            metrics=[list(pair) for pair in metrics],
        )
    return hypothesis


def set_hypothesis_status(*, hypothesis: Hypothesis, status: str, by) -> Hypothesis:
    """Open (being tested), supported, not supported or withdrawn."""
    _choice(status, HYPOTHESIS_STATUSES, "hypothesis status")
    _require_change(by, hypothesis.team)
    with transaction.atomic():
        before, hypothesis.status = hypothesis.status, status
        hypothesis.save(update_fields=["status"])
        _audited(
            by,
            "set_hypothesis_status",
            hypothesis.team,
            hypothesis=hypothesis.pk,
            before=before,
            after=status,
        )
    return hypothesis


def record_pdsa_cycle(
    *,
    hypothesis: Hypothesis,
    plan: str,
    started: dt.date,
    by,
    do: str = "",
    study: str = "",
    act: str = "",
    ended: dt.date | None = None,
) -> PdsaCycle:
    """A plan-do-study-act cycle against a hypothesis (do, study and act may come later:
    ``update_pdsa_cycle``)."""
    plan = _text(plan, "plan")
    _check_dates(started, ended)
    _require_change(by, hypothesis.team)
    with transaction.atomic():
        cycle = PdsaCycle.objects.create(
            hypothesis=hypothesis,
            plan=plan,
            do=do.strip(),
            study=study.strip(),
            act=act.strip(),
            started=started,
            ended=ended,
            recorded_by=by,
        )
        _audited(by, "record_pdsa_cycle", hypothesis.team, hypothesis=hypothesis.pk, cycle=cycle.pk)
    return cycle


PDSA_FIELDS = ("plan", "do", "study", "act", "started", "ended")


def update_pdsa_cycle(*, cycle: PdsaCycle, by, **changes) -> PdsaCycle:
    """Fill in or correct a cycle's plan, do, study, act, started or ended."""
    unknown = set(changes) - set(PDSA_FIELDS)
    if unknown:
        raise ValueError(f"not a PDSA field: {', '.join(sorted(unknown))}")
    team = cycle.hypothesis.team
    _require_change(by, team)
    changes = {k: v.strip() if isinstance(v, str) else v for k, v in changes.items()}
    after = {field: getattr(cycle, field) for field in PDSA_FIELDS} | changes
    _text(after["plan"], "plan")
    _check_dates(after["started"], after["ended"])
    with transaction.atomic():
        for field, value in changes.items():
            setattr(cycle, field, value)
        cycle.save(update_fields=sorted(changes))
        _audited(by, "update_pdsa_cycle", team, cycle=cycle.pk, fields=sorted(changes))
    return cycle


def _check_dates(started, ended) -> None:
    if started is None:
        raise UserError("Give the date the cycle started.")
    if ended is not None and ended < started:
        raise UserError(f"The cycle cannot end ({ended}) before it started ({started}).")


# ------------------------------------------------------------------------ actions


def _check_owner(owner, team: Team) -> None:
    if not team.memberships.filter(user=owner).exists():
        raise UserError(
            f"{owner.get_username()} is not a member of {team.name}; add them to the team "
            "before giving them an action."
        )


def assign_action(
    *,
    team: Team,
    title: str,
    owner,
    due_date: dt.date,
    by,
    detail: str = "",
    hypothesis: Hypothesis | None = None,
) -> Action:
    """An action for one team member, due by a date."""
    title = _text(title, "action")
    if due_date is None:
        raise UserError("Give the date the action is due.")
    _require_change(by, team)
    _same_team(hypothesis, team, "hypothesis")
    _check_owner(owner, team)
    with transaction.atomic():
        action = Action.objects.create(
            team=team,
            hypothesis=hypothesis,
            title=title,
            detail=detail.strip(),
            owner=owner,
            due_date=due_date,
            created_by=by,
        )
        _audited(
            by,
            "assign_action",
            team,
            action=action.pk,
            owner=owner.get_username(),
            due=due_date.isoformat(),
        )
    return action


def reassign_action(*, action: Action, by, owner=None, due_date: dt.date | None = None) -> Action:
    """Give an action to another member, or move its due date."""
    if owner is None and due_date is None:
        raise UserError("Give a new owner or a new due date.")
    _require_change(by, action.team)
    if owner is not None:
        _check_owner(owner, action.team)
        action.owner = owner
    if due_date is not None:
        action.due_date = due_date
    with transaction.atomic():
        action.save(update_fields=["owner", "due_date"])
        _audited(
            by,
            "reassign_action",
            action.team,
            action=action.pk,
            owner=action.owner.get_username(),
            due=action.due_date.isoformat(),
        )
    return action


def set_action_status(*, action: Action, status: str, by) -> Action:
    """Open, done or cancelled (reopening is allowed)."""
    _choice(status, ACTION_STATUSES, "action status")
    _require_change(by, action.team)
    if status == action.status:
        raise UserError(f"{action.title!r} is already {status}.")
    with transaction.atomic():
        before, action.status = action.status, status
        action.closed_at = None if status == "open" else timezone.now()
        action.save(update_fields=["status", "closed_at"])
        _audited(
            by, "set_action_status", action.team, action=action.pk, before=before, after=status
        )
    return action


def comment_on_action(*, action: Action, text: str, by) -> ActionComment:
    text = _text(text, "comment")
    _require_change(by, action.team)
    with transaction.atomic():
        comment = ActionComment.objects.create(action=action, author=by, text=text)
        _audited(by, "comment_on_action", action.team, action=action.pk, comment=comment.pk)
    return comment


def member_teams(user):
    """The teams ``user`` is a member of: whose records they change, and what their pages
    open on."""
    return Team.objects.filter(memberships__user=user).order_by("condition", "name")


def visible_teams(user):
    """Every team whose records ``user`` may read (``view_improvement`` for its condition)."""
    return [
        team for team in Team.objects.order_by("condition", "name") if may_view_team(user, team)
    ]


def overdue_actions(who, today: dt.date):
    """Open actions due before ``today``, soonest due first: a user's own (``who`` a user)
    or a team's (``who`` a ``Team``)."""
    actions = Action.objects.filter(status="open", due_date__lt=today)
    actions = actions.filter(team=who) if isinstance(who, Team) else actions.filter(owner=who)
    return actions.select_related("team", "owner").order_by("due_date", "id")


# ------------------------------------------------------------------------ service changes


def record_service_change(
    *,
    team: Team,
    title: str,
    change_date: dt.date,
    by,
    description: str = "",
    stage: str = "",
    segment_type: str = "",
    segment: str = "",
    hypothesis: Hypothesis | None = None,
    investment_one_off=None,
    investment_recurring=None,
    review_months: Iterable[int] = DEFAULT_REVIEW_MONTHS,
) -> ServiceChange:
    """A change the team made to its pathway on ``change_date``: the next run rebases the
    condition's SPC charts there (``service_changes_frame``) and it is evaluated
    ``review_months`` after. Investments in pounds: one-off, and recurring a year."""
    title = _text(title, "title of the change")
    if change_date is None:
        raise UserError("Give the date the change was made.")
    if bool(segment_type) != bool(segment):
        raise UserError("Give both the segment type and the segment, or neither.")
    try:
        months = sorted({int(m) for m in review_months})
    except (TypeError, ValueError):
        months = []
    if not months or months[0] < 1:
        raise UserError("Review points are whole months after the change, 1 or more.")
    one_off = _money(investment_one_off, "one-off investment")
    recurring = _money(investment_recurring, "recurring investment")
    _require_change(by, team)
    _same_team(hypothesis, team, "hypothesis")
    with transaction.atomic():
        change = ServiceChange.objects.create(
            team=team,
            condition=team.condition,
            title=title,
            description=description.strip(),
            change_date=change_date,
            stage=stage,
            segment_type=segment_type,
            segment=segment,
            hypothesis=hypothesis,
            investment_one_off=one_off,
            investment_recurring=recurring,
            review_months=months,
            recorded_by=by,
        )
        _audited(
            by,
            "record_service_change",
            team,
            service_change=change.pk,
            title=title,
            change_date=change_date.isoformat(),
        )
    return change


SERVICE_CHANGE_COLUMNS = ("condition", "change_date", "description", "segment_type", "segment")


def service_changes_frame() -> pd.DataFrame:
    """Every recorded service change as ``carevalue.runs.record_service_changes`` takes
    them: condition, change_date (datetime64), description (the title, the charts'
    annotation), segment_type and segment (missing = every series of the condition)."""
    rows = ServiceChange.objects.order_by("condition", "change_date", "id").values_list(
        "condition", "change_date", "title", "segment_type", "segment"
    )
    frame = pd.DataFrame(list(rows), columns=list(SERVICE_CHANGE_COLUMNS))
    frame["change_date"] = pd.to_datetime(frame["change_date"]).astype("datetime64[us]")
    for column in ("condition", "description", "segment_type", "segment"):
        frame[column] = frame[column].astype("string")
    for column in ("segment_type", "segment"):
        frame[column] = frame[column].mask(frame[column] == "")
    return frame
