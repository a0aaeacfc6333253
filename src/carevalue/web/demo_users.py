"""Demo users, one per role, for the synthetic trust only (``carevalue demo``). Their
passwords are made afresh at each demo and printed once; never used with real data."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model

from carevalue.web import actions

# (user name, role, condition ("" = every condition)): a clinician and a team lead on the
# stroke pathway, the others across every condition.
DEMO_USERS = (
    ("clinician", "clinician", "stroke"),
    ("teamlead", "team_lead", "stroke"),
    ("manager", "service_manager", ""),
    ("finance", "finance", ""),
    ("commissioner", "commissioner", ""),
    ("admin", "administrator", ""),
)


def create_demo_users() -> list[tuple[str, str, str, str]]:
    """(user name, password, role, condition) for each demo user, made or reset."""
    users = get_user_model().objects
    made = []
    for username, role, condition in DEMO_USERS:
        password = "demo-" + secrets.token_urlsafe(9)
        existing = users.filter(username=username).first()
        if existing is None:
            actions.create_user(username=username, password=password, roles=[(role, condition)])
        else:
            actions.set_password(user=existing, password=password)
        made.append((username, password, role, condition or "every condition"))
    return made
