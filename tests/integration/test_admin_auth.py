import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from patron.settings import Settings
from patron.web import create_app

ADMIN_PATHS = ["/api/stats", "/api/sources", "/api/failed-events", "/api/identity/review"]


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_admin_api_needs_the_admin_token(settings: Settings, path: str) -> None:
    guarded = settings.model_copy(update={"admin_token": SecretStr("s3cret-admin-token")})

    with TestClient(create_app(guarded)) as client:
        missing = client.get(path)
        wrong = client.get(path, headers={"Authorization": "Bearer nope"})
        right = client.get(path, headers={"Authorization": "Bearer s3cret-admin-token"})

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "PATRON_ADMIN_TOKEN" in missing.json()["detail"]
    assert wrong.status_code == 401
    assert right.status_code == 200


def test_tracking_api_and_landing_page_do_not_take_the_admin_token(settings: Settings) -> None:
    guarded = settings.model_copy(update={"admin_token": SecretStr("s3cret-admin-token")})

    with TestClient(create_app(guarded)) as client:
        health = client.get("/health")
        track = client.post("/v1/track", json={"userId": "1", "event": "x"})

    assert health.status_code == 200
    # the tracking API asks for a write key, not the admin token
    assert track.status_code == 401
    assert "write key" in track.text.lower()
