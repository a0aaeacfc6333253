"""The value-based management loop's records: a multidisciplinary team per condition
pathway, the improvement opportunities it works on, its hypotheses and the PDSA cycles
testing them, its actions (with comments), and the service changes it makes.

Written only by ``carevalue.web.management_actions`` (one transaction and one audit event
each); views only read. Imported by ``models.py`` so Django finds them in the app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

TEAM_ROLES = {
    "lead": "Team lead",
    "clinician": "Clinician",
    "nurse": "Nurse",
    "therapist": "Therapist",
    "finance": "Finance",
    "manager": "Service manager",
    "patient_representative": "Patient representative",
}

OPPORTUNITY_KINDS = {
    "spc_signal": "SPC special cause",
    "funnel_outlier": "Outlier between teams or sites",
    "cost_driver": "Cost driver",
    "cost_variation": "Cost that varies widely between episodes",
    "unwarranted_variation": "Unwarranted variation in an outcome",
    "costly_low_outcome": "Costly group with poor outcomes",
    "prom_gap": "PROM response gap",
    "data_quality": "Data-quality problem",
    "team": "Raised by the team",
}
OPPORTUNITY_SOURCES = {"data": "Found in the data", "team": "Raised by the team"}
OPPORTUNITY_STATUSES = {"open": "Open", "dismissed": "Dismissed", "merged": "Merged"}

DIRECTIONS = {"increase": "Expected to go up", "decrease": "Expected to go down"}
HYPOTHESIS_STATUSES = {
    "open": "Being tested",
    "supported": "Supported",
    "not_supported": "Not supported",
    "withdrawn": "Withdrawn",
}
ACTION_STATUSES = {"open": "Open", "done": "Done", "cancelled": "Cancelled"}
DEFAULT_REVIEW_MONTHS = (3, 6, 12)


def _choices(labels: dict[str, str]) -> list[tuple[str, str]]:
    return list(labels.items())


def default_review_months() -> list[int]:
    return list(DEFAULT_REVIEW_MONTHS)


class Team(models.Model):
    """The multidisciplinary team that owns one condition pathway (a condition may have
    more than one, e.g. one per site)."""

    condition = models.CharField(max_length=64, db_index=True)  # the pack id
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("condition", "name")
        constraints = (models.UniqueConstraint(fields=["condition", "name"], name="one_team_name"),)

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    team_role = models.CharField(max_length=32, choices=_choices(TEAM_ROLES))
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("team", "user__username")
        constraints = (models.UniqueConstraint(fields=["team", "user"], name="one_membership"),)

    def __str__(self) -> str:
        return f"{self.user} {self.team_role} of {self.team}"


class Opportunity(models.Model):
    """Something worth improving: found in a run's data (with the run id and a stable
    ``key`` so the next run does not add it again) or raised by the team."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="opportunities")
    kind = models.CharField(max_length=32, choices=_choices(OPPORTUNITY_KINDS))
    title = models.CharField(max_length=200)
    reason = models.TextField()  # in words: why it is on the list
    source = models.CharField(max_length=8, choices=_choices(OPPORTUNITY_SOURCES))
    # What the pages link to: the chart (metric and series) and, through them, the patients.
    metric = models.CharField(max_length=64, blank=True, default="")
    segment_type = models.CharField(max_length=64, blank=True, default="")
    segment = models.CharField(max_length=200, blank=True, default="")
    score = models.FloatField(null=True, blank=True)  # the ranking; larger is higher
    key = models.CharField(max_length=200, blank=True, default="")  # data: stable per finding
    run_id = models.CharField(max_length=64, blank=True, default="")  # data: the run found in
    status = models.CharField(
        max_length=16, choices=_choices(OPPORTUNITY_STATUSES), default="open", db_index=True
    )
    dismiss_reason = models.TextField(blank=True, default="")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("team", "status", models.F("score").desc(nulls_last=True), "-created_at")
        constraints = (
            models.UniqueConstraint(
                fields=["team", "key"], condition=~models.Q(key=""), name="one_finding"
            ),
        )

    def __str__(self) -> str:
        return self.title


class Hypothesis(models.Model):
    """ "Starting antibiotics within 24 h will reduce 12-month mortality": a statement, the
    metrics it expects to move (``HypothesisMetric``) and whether the data bore it out."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="hypotheses")
    statement = models.TextField()
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="hypotheses"
    )
    status = models.CharField(max_length=16, choices=_choices(HYPOTHESIS_STATUSES), default="open")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("team", "-created_at")
        verbose_name_plural = "hypotheses"

    def __str__(self) -> str:
        return self.statement[:80]


class HypothesisMetric(models.Model):
    """A metric (the pack's metric id) a hypothesis expects to move, and which way."""

    hypothesis = models.ForeignKey(Hypothesis, on_delete=models.CASCADE, related_name="metrics")
    metric = models.CharField(max_length=64)
    direction = models.CharField(max_length=8, choices=_choices(DIRECTIONS))

    class Meta:
        ordering = ("hypothesis", "id")
        constraints = (
            models.UniqueConstraint(fields=["hypothesis", "metric"], name="one_expectation"),
        )

    def __str__(self) -> str:
        return f"{self.metric} {self.direction}"


class Action(models.Model):
    """A thing one team member will do by a date."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="actions")
    hypothesis = models.ForeignKey(
        Hypothesis, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_actions"
    )
    due_date = models.DateField(db_index=True)
    status = models.CharField(
        max_length=16, choices=_choices(ACTION_STATUSES), default="open", db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("due_date", "id")

    def __str__(self) -> str:
        return self.title


class ActionComment(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("action", "at", "id")

    def __str__(self) -> str:
        return self.text[:80]


class PdsaCycle(models.Model):
    """One plan-do-study-act cycle testing a hypothesis, written as it goes (study and act
    are filled in later)."""

    hypothesis = models.ForeignKey(Hypothesis, on_delete=models.CASCADE, related_name="cycles")
    plan = models.TextField()
    do = models.TextField(blank=True, default="")
    study = models.TextField(blank=True, default="")
    act = models.TextField(blank=True, default="")
    started = models.DateField()
    ended = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("hypothesis", "started", "id")

    def __str__(self) -> str:
        return f"PDSA from {self.started}"


class ServiceChange(models.Model):
    """A change the team made to its pathway: the run rebases the condition's SPC charts at
    ``change_date`` and the change is evaluated at each review point (months after)."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="service_changes")
    condition = models.CharField(max_length=64, db_index=True)  # the team's, kept for the run
    title = models.CharField(max_length=200)  # the chart annotation
    description = models.TextField(blank=True, default="")
    change_date = models.DateField()
    stage = models.CharField(max_length=64, blank=True, default="")  # a pack stage id
    # Blank = every series of the condition; else the series the change concerns.
    segment_type = models.CharField(max_length=64, blank=True, default="")
    segment = models.CharField(max_length=200, blank=True, default="")
    hypothesis = models.ForeignKey(
        Hypothesis,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_changes",
    )
    investment_one_off = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )  # £
    investment_recurring = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )  # £ a year
    review_months = models.JSONField(default=default_review_months)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("condition", "change_date", "id")

    def __str__(self) -> str:
        return f"{self.change_date} {self.title}"
