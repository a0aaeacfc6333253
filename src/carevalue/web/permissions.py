"""Roles and permissions: the one way a view asks what a user may see or do.

A role is a list of permissions. A user holds one or more roles, each for every
condition or for one (``RoleGrant``). ``has_permission(user, permission, condition=...)``
is the only check views, downloads and actions make.
"""

from __future__ import annotations

from typing import Final

# What each permission lets a user do.
VIEW_DASHBOARDS: Final = "view_dashboards"  # the aggregate pages and their downloads
VIEW_SMALL_CELLS: Final = "view_small_cells"  # internal: no secondary suppression
VIEW_PATIENTS: Final = "view_patients"  # the patient-level pages (audited)
VIEW_COSTING_DETAIL: Final = "view_costing_detail"  # provenance to ledger lines and steps
VIEW_DATA_QUALITY: Final = "view_data_quality"
MANAGE_USERS: Final = "manage_users"
VIEW_AUDIT: Final = "view_audit"
# The management loop (teams, opportunities, hypotheses, actions, service changes):
VIEW_IMPROVEMENT: Final = "view_improvement"  # read a condition's teams and their records
MANAGE_IMPROVEMENT: Final = "manage_improvement"  # change them, on a team one is a member of
MANAGE_TEAMS: Final = "manage_teams"  # set up a condition's teams and their members

PERMISSIONS: Final = (
    VIEW_DASHBOARDS,
    VIEW_SMALL_CELLS,
    VIEW_PATIENTS,
    VIEW_COSTING_DETAIL,
    VIEW_DATA_QUALITY,
    MANAGE_USERS,
    VIEW_AUDIT,
    VIEW_IMPROVEMENT,
    MANAGE_IMPROVEMENT,
    MANAGE_TEAMS,
)

# Changing a team's records needs MANAGE_IMPROVEMENT for its condition *and* membership of
# the team (``may_change_team``); a team's members with team role "lead" also add and
# remove its members.

ROLES: Final[dict[str, tuple[str, ...]]] = {
    "clinician": (
        VIEW_DASHBOARDS,
        VIEW_SMALL_CELLS,
        VIEW_PATIENTS,
        VIEW_DATA_QUALITY,
        VIEW_IMPROVEMENT,
        MANAGE_IMPROVEMENT,
    ),
    "team_lead": (
        VIEW_DASHBOARDS,
        VIEW_SMALL_CELLS,
        VIEW_PATIENTS,
        VIEW_DATA_QUALITY,
        VIEW_COSTING_DETAIL,
        VIEW_IMPROVEMENT,
        MANAGE_IMPROVEMENT,
    ),
    "service_manager": (
        VIEW_DASHBOARDS,
        VIEW_SMALL_CELLS,
        VIEW_COSTING_DETAIL,
        VIEW_DATA_QUALITY,
        VIEW_IMPROVEMENT,
        MANAGE_IMPROVEMENT,
        MANAGE_TEAMS,
    ),
    "finance": (
        VIEW_DASHBOARDS,
        VIEW_SMALL_CELLS,
        VIEW_COSTING_DETAIL,
        VIEW_DATA_QUALITY,
        VIEW_IMPROVEMENT,
        MANAGE_IMPROVEMENT,
    ),
    # aggregate only, through the disclosure module with secondary suppression; the
    # management records read-only
    "commissioner": (VIEW_DASHBOARDS, VIEW_IMPROVEMENT),
    "administrator": (
        VIEW_DASHBOARDS,
        VIEW_SMALL_CELLS,
        VIEW_DATA_QUALITY,
        MANAGE_USERS,
        VIEW_AUDIT,
        VIEW_COSTING_DETAIL,
        VIEW_IMPROVEMENT,
        MANAGE_TEAMS,
    ),
}

ROLE_LABELS: Final = {
    "clinician": "Clinician",
    "team_lead": "Team lead",
    "service_manager": "Service manager",
    "finance": "Finance business partner",
    "commissioner": "Commissioner",
    "administrator": "Administrator",
}

ALL_CONDITIONS: Final = ""


def grants(user) -> list[tuple[str, str]]:
    """(role, condition) pairs the user holds; condition ``""`` means every condition.
    Cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_carevalue_grants", None)
    if cached is None:
        cached = list(user.role_grants.values_list("role", "condition"))
        user._carevalue_grants = cached
    return cached


def has_permission(user, permission: str, *, condition: str | None = None) -> bool:
    """True when one of the user's roles carries ``permission`` for ``condition`` (for any
    condition when ``condition`` is None)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    for role, granted in grants(user):
        if permission not in ROLES.get(role, ()):
            continue
        if condition is None or granted in (ALL_CONDITIONS, condition):
            return True
    return False


def team_role(user, team) -> str | None:
    """The user's team role on ``team`` ("lead", "nurse" …), or None if not a member."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    roles = team.memberships.filter(user=user).values_list("team_role", flat=True)
    return next(iter(roles), None)


def may_view_team(user, team) -> bool:
    """Anyone with VIEW_IMPROVEMENT for the team's condition reads its records."""
    return has_permission(user, VIEW_IMPROVEMENT, condition=team.condition)


def may_change_team(user, team) -> bool:
    """Changing a team's opportunities, hypotheses, actions and service changes needs
    MANAGE_IMPROVEMENT for its condition and membership of the team: a stroke team lead
    cannot change the endocarditis team's records."""
    return (
        has_permission(user, MANAGE_IMPROVEMENT, condition=team.condition)
        and team_role(user, team) is not None
    )


def may_manage_members(user, team) -> bool:
    """MANAGE_TEAMS for the team's condition, or the team's own lead."""
    return has_permission(user, MANAGE_TEAMS, condition=team.condition) or (
        may_change_team(user, team) and team_role(user, team) == "lead"
    )


def conditions_visible(user, conditions: list[str]) -> list[str]:
    """The conditions among ``conditions`` whose dashboards the user may open."""
    return [c for c in conditions if has_permission(user, VIEW_DASHBOARDS, condition=c)]


def role_names(user) -> list[str]:
    return sorted({ROLE_LABELS.get(role, role) for role, _ in grants(user)})
