"""Every write the web app makes: keyword-only, ``by=`` the acting user (None for the
command line), one transaction, one audit event. Views never write models directly."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction

from carevalue.web.models import AuditEvent, RoleGrant
from carevalue.web.permissions import ALL_CONDITIONS, ROLES

SYSTEM = "carevalue (command line)"


def _audit(
    *,
    by,
    action: str,
    condition: str = "",
    run_id: str = "",
    path: str = "",
    patients: Iterable[str] = (),
    detail: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        user=by if by is not None and by.is_authenticated else None,
        username=by.get_username() if by is not None and by.is_authenticated else SYSTEM,
        action=action,
        condition=condition,
        run_id=run_id,
        path=path[:500],
        patients=sorted({str(p) for p in patients}),
        detail=detail or {},
    )


def create_user(
    *, username: str, password: str, roles: Iterable[tuple[str, str]], by=None, email: str = ""
):
    """A user holding ``roles`` ((role, condition) pairs; condition "" = every one)."""
    roles = list(roles)
    for role, _ in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    with transaction.atomic():
        user = get_user_model().objects.create_user(
            username=username, password=password, email=email
        )
        for role, condition in roles:
            RoleGrant.objects.create(user=user, role=role, condition=condition or ALL_CONDITIONS)
        _audit(by=by, action="create_user", detail={"username": username, "roles": roles})
    return user


def record_patient_view(
    *, by, condition: str, run_id: str, path: str, patients: Iterable[str], what: str
) -> AuditEvent:
    """Audit a page or download that showed patient-level rows (their pseudonymised ids)."""
    with transaction.atomic():
        return _audit(
            by=by,
            action="view_patients",
            condition=condition,
            run_id=run_id,
            path=path,
            patients=patients,
            detail={"what": what},
        )


def record_download(
    *, by, condition: str, run_id: str, path: str, what: str, patients: Iterable[str] = ()
) -> AuditEvent:
    with transaction.atomic():
        return _audit(
            by=by,
            action="download",
            condition=condition,
            run_id=run_id,
            path=path,
            patients=patients,
            detail={"what": what},
        )


def record_login(*, by, path: str = "") -> AuditEvent:
    with transaction.atomic():
        return _audit(by=by, action="login", path=path)


def set_password(*, user, password: str, by=None) -> None:
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        _audit(by=by, action="set_password", detail={"username": user.get_username()})
