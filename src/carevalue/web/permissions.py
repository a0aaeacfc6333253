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

PERMISSIONS: Final = (
    VIEW_DASHBOARDS,
    VIEW_SMALL_CELLS,
    VIEW_PATIENTS,
    VIEW_COSTING_DETAIL,
    VIEW_DATA_QUALITY,
    MANAGE_USERS,
    VIEW_AUDIT,
)

ROLES: Final[dict[str, tuple[str, ...]]] = {
    "clinician": (VIEW_DASHBOARDS, VIEW_SMALL_CELLS, VIEW_PATIENTS, VIEW_DATA_QUALITY),
    "team_lead": (
        VIEW_DASHBOARDS,
        VIEW_SMALL_CELLS,
        VIEW_PATIENTS,
        VIEW_DATA_QUALITY,
        VIEW_COSTING_DETAIL,
    ),
    "service_manager": (VIEW_DASHBOARDS, VIEW_SMALL_CELLS, VIEW_COSTING_DETAIL, VIEW_DATA_QUALITY),
    "finance": (VIEW_DASHBOARDS, VIEW_SMALL_CELLS, VIEW_COSTING_DETAIL, VIEW_DATA_QUALITY),
    # aggregate only, through the disclosure module with secondary suppression
    "commissioner": (VIEW_DASHBOARDS,),
    "administrator": (
        VIEW_DASHBOARDS,
        VIEW_SMALL_CELLS,
        VIEW_DATA_QUALITY,
        MANAGE_USERS,
        VIEW_AUDIT,
        VIEW_COSTING_DETAIL,
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


def conditions_visible(user, conditions: list[str]) -> list[str]:
    """The conditions among ``conditions`` whose dashboards the user may open."""
    return [c for c in conditions if has_permission(user, VIEW_DASHBOARDS, condition=c)]


def role_names(user) -> list[str]:
    return sorted({ROLE_LABELS.get(role, role) for role, _ in grants(user)})
