"""Values every template may read."""

from __future__ import annotations

from django.conf import settings

from carevalue.web.permissions import role_names


def site(request) -> dict:
    return {
        "carevalue_demo": settings.CAREVALUE_DEMO,
        "user_roles": role_names(request.user) if hasattr(request, "user") else [],
    }
