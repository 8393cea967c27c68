"""Who may use the admin API: the holder of the admin token."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request

from patron.web.responses import services


def require_admin(request: Request) -> None:
    """Refuse a request to the admin API without ``Authorization: Bearer <admin token>``.

    With no token configured (development only; production refuses to start without one)
    the admin API is open.
    """
    token = services(request).settings.admin_token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    ):
        raise HTTPException(
            status_code=401,
            detail="the admin API needs Authorization: Bearer <PATRON_ADMIN_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
