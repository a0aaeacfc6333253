"""The app's own records: who holds which role, and the audit log. (Results live in run
snapshots, not here.)"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# The management loop's records (teams, opportunities, hypotheses, actions, service changes)
# live in their own module; imported here so Django registers them with the app.
from carevalue.web.management_models import (  # noqa: F401
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
from carevalue.web.permissions import ROLE_LABELS


class RoleGrant(models.Model):
    """A role held by a user for one condition, or for every condition (blank)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants"
    )
    role = models.CharField(max_length=32, choices=sorted(ROLE_LABELS.items()))
    condition = models.CharField(max_length=64, blank=True, default="")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["user", "role", "condition"], name="one_grant"),
        )

    def __str__(self) -> str:
        return f"{self.user} {self.role} {self.condition or 'all conditions'}"


class AuditEvent(models.Model):
    """Who did what, when, to which patients: every patient-level view and every change.
    Written only by ``carevalue.web.actions`` (``management_actions`` through it); never
    edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    condition = models.CharField(max_length=64, blank=True, default="")
    run_id = models.CharField(max_length=64, blank=True, default="")
    path = models.CharField(max_length=500, blank=True, default="")
    # Pseudonymised patient ids only (keyed hashes made at ingest), never NHS numbers.
    patients = models.JSONField(default=list)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action}"
