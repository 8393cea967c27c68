"""The landing page in a real Chromium."""

from sqlalchemy.orm import Session, sessionmaker

from patron import ingest
from tests.e2e.browser import chromium
from tests.e2e.conftest import LiveServer


def test_landing_page_renders_without_outside_requests(
    live_server: LiveServer, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        ingest.create_source(session, "store-pos", ingest.Channel.POS, default_region="GB")
        ingest.create_source(session, "eshop-web", ingest.Channel.WEB)
    requested: list[str] = []

    with chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{live_server.url}/")
        sources_figure = page.locator('[data-stat="sources"]').inner_text()
        rows = page.locator("table tbody tr").all_inner_texts()
        background = page.eval_on_selector(
            "header.top", "element => getComputedStyle(element).backgroundColor"
        )

    assert sources_figure == "2"
    assert [row.split("\t")[0] for row in rows] == ["store-pos", "eshop-web"]
    # the stylesheet is served by Patron itself and applied
    assert background == "rgb(29, 36, 48)"
    assert requested
    assert all(url.startswith(live_server.url) for url in requested), requested


def test_api_docs_load_their_assets_from_patron(live_server: LiveServer) -> None:
    requested: list[str] = []

    with chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{live_server.url}/docs")
        page.get_by_text("/v1/track", exact=True).first.wait_for(timeout=15_000)
        title = page.locator(".information-container .title").inner_text()

    assert title.startswith("Patron")
    assert any(url.endswith("swagger-ui-bundle.js") for url in requested)
    assert all(url.startswith(live_server.url) for url in requested), requested
