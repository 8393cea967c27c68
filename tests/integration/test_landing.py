from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from patron import ingest
from patron.settings import Settings
from patron.web import create_app


def test_landing_page_shows_counts_and_sources(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        created = ingest.create_source(session, "store-pos", ingest.Channel.POS)

    with TestClient(create_app(settings)) as client:
        page = client.get("/")
        css = client.get("/static/patron.css")

    assert page.status_code == 200
    assert 'data-stat="sources">1<' in page.text
    assert "store-pos" in page.text
    assert created.write_key not in page.text
    assert css.status_code == 200
    assert "--accent" in css.text


def test_admin_api_lists_sources_and_stats(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        ingest.create_source(session, "eshop", ingest.Channel.ESHOP, default_region="CZ")

    with TestClient(create_app(settings)) as client:
        listed = client.get("/api/sources").json()
        stats = client.get("/api/stats").json()
        health = client.get("/health").json()
        schema = client.get("/openapi.json").json()

    assert listed[0]["name"] == "eshop"
    assert listed[0]["default_region"] == "CZ"
    assert "write_key" not in listed[0]
    assert stats["sources"] == 1
    assert health == {"status": "ok"}
    assert "/api/stats" in schema["paths"]
