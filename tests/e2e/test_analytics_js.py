"""Segment's analytics.js (``@segment/analytics-next``), unchanged, in Chromium, against Patron.

The shop's pages are served from another origin than Patron (another port), so every call
crosses origins; analytics.js loads its settings from Patron as its CDN and sends its events
back to the host those settings name. The bundles come from ``tests/e2e/js/node_modules``
(installed by ``make test`` from the committed lock file): nothing is downloaded at test time,
and any request the browser makes outside 127.0.0.1 is refused and fails the test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from patron.ingest import Channel, create_source
from patron.ingest.models import Event
from tests.e2e.browser import chromium
from tests.e2e.conftest import LiveServer

UMD = Path(__file__).parent / "js/node_modules/@segment/analytics-next/dist/umd"
# The npm package's browser bundles: ``index.js`` exposes ``AnalyticsNext.AnalyticsBrowser``;
# ``standalone.js`` is what Segment's snippet loads, configured by ``window.analytics``.
BUNDLES = {"/analytics-next.js": UMD / "index.js", "/standalone.js": UMD / "standalone.js"}
PAGE_TITLE = "Patron test shop"
PRODUCT_ADDED = {"cart_id": "c1", "product_id": "p1", "price": 12.5, "quantity": 1}
CALL_TIMEOUT_SECONDS = 10

NPM_PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{PAGE_TITLE}</title>
<script src="/analytics-next.js"></script>
</head><body><h1>{PAGE_TITLE}</h1></body></html>
"""
# Runs in the npm page: a shop that loads analytics.js against Patron. Each call's promise
# settles once the Segment.io plugin has had Patron's answer; if analytics.js cannot load
# (no settings, CORS refused) they never settle, hence the time limit.
NPM_CALLS = """async ({writeKey, cdnURL, product, seconds}) => {
  const analytics = AnalyticsNext.AnalyticsBrowser.load({writeKey, cdnURL});
  const calls = (async () => [
    await analytics.identify('user-1', {email: 'ada@example.com'}),
    await analytics.track('Product Added', product),
    await analytics.page(),
  ])();
  const late = new Promise((resolve) => setTimeout(resolve, seconds * 1000, null));
  const contexts = await Promise.race([calls, late]);
  if (contexts === null) {
    return {error: `the calls did not settle in ${seconds} s`, calls: []};
  }
  return {error: null, calls: contexts.map((ctx) => ({
    type: ctx.event.type,
    messageId: ctx.event.messageId,
    failed: ctx.failedDelivery() ? String(ctx.failedDelivery().reason) : null,
  }))};
}"""


def _snippet_page(write_key: str, patron_url: str) -> str:
    """A shop page with a snippet like Segment's: calls are queued until standalone.js runs.

    ``_cdn`` makes analytics.js fetch its settings from Patron; the load options ask for
    batched delivery, so the three calls go to ``/v1/b`` together.
    """
    options = {
        "integrations": {
            "Segment.io": {
                "deliveryStrategy": {"strategy": "batching", "config": {"size": 3}},
            }
        }
    }
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{PAGE_TITLE}</title>
<script>
  var analytics = (window.analytics = window.analytics || []);
  ["identify", "track", "page"].forEach(function (method) {{
    analytics[method] = function () {{
      analytics.push([method].concat(Array.prototype.slice.call(arguments)));
      return analytics;
    }};
  }});
  analytics._writeKey = {json.dumps(write_key)};
  analytics._cdn = {json.dumps(patron_url)};
  analytics._loadOptions = {json.dumps(options)};
  analytics.identify("user-1", {{email: "ada@example.com"}});
  analytics.track("Product Added", {json.dumps(PRODUCT_ADDED)});
  analytics.page();
</script>
<script async src="/standalone.js"></script>
</head><body><h1>{PAGE_TITLE}</h1></body></html>
"""


@dataclass
class ShopSite:
    url: str
    pages: dict[str, str] = field(default_factory=dict)


class _ShopServer(ThreadingHTTPServer):
    pages: dict[str, str]


class _ShopHandler(BaseHTTPRequestHandler):
    server: _ShopServer

    def do_GET(self) -> None:
        if self.path in self.server.pages:
            self._send(self.server.pages[self.path].encode(), "text/html; charset=utf-8")
        elif self.path in BUNDLES:
            self._send(BUNDLES[self.path].read_bytes(), "text/javascript")
        elif self.path == "/favicon.ico":
            self._send(b"", "image/x-icon")
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        """Quiet: the test reports what it needs."""


@pytest.fixture
def shop_site() -> Iterator[ShopSite]:
    """A shop's pages on another origin than Patron (its own port), with analytics.js."""
    missing = [str(path) for path in BUNDLES.values() if not path.is_file()]
    if missing:
        pytest.fail(f"{missing} missing: run `make test` (it runs npm ci in tests/e2e/js)")
    server = _ShopServer(("127.0.0.1", 0), _ShopHandler)
    site = ShopSite(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.pages = site.pages
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class _Traffic:
    """What the page asked for: every URL, those refused (not 127.0.0.1), console errors."""

    requested: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def paths_on(self, origin: str) -> list[str]:
        return sorted(urlsplit(url).path for url in self.requested if url.startswith(origin))


@contextmanager
def _shop_browser() -> Iterator[tuple[Page, _Traffic]]:
    traffic = _Traffic()

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            traffic.outside.append(route.request.url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            traffic.console_errors.append(message.text)

    with chromium() as browser:
        page = browser.new_page()
        page.route("**/*", only_local)
        page.on("request", lambda request: traffic.requested.append(request.url))
        page.on("console", on_console)
        page.on("pageerror", lambda error: traffic.console_errors.append(str(error)))
        yield page, traffic


def _write_key(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        return create_source(session, "web shop", Channel.ESHOP).write_key


def _stored(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def _assert_the_shop_calls_are_stored_once(stored: list[Event], page_url: str) -> None:
    assert [(e.type, e.name) for e in stored] == [
        ("identify", None),
        ("track", "Product Added"),
        ("page", None),
    ]
    identify, track, page_view = stored
    assert {e.user_id for e in stored} == {"user-1"}
    anonymous_ids = {e.anonymous_id for e in stored}
    assert len(anonymous_ids) == 1
    assert None not in anonymous_ids
    assert identify.payload["traits"] == {"email": "ada@example.com"}
    assert track.payload["properties"] == PRODUCT_ADDED
    assert page_view.payload["properties"]["url"] == page_url
    assert page_view.payload["properties"]["path"] == "/"
    assert page_view.payload["properties"]["title"] == PAGE_TITLE
    for event in stored:
        assert event.payload["context"]["library"]["name"] == "analytics.js"
        assert event.payload["context"]["page"]["url"] == page_url
        assert "writeKey" not in event.payload
        assert event.sent_at is not None
        assert event.timestamp <= event.received_at


def test_npm_analytics_browser_on_another_origin_sends_each_call_once(
    live_server: LiveServer, shop_site: ShopSite, sessions: sessionmaker[Session]
) -> None:
    # given a shop's page on another origin that loads analytics.js's npm bundle
    write_key = _write_key(sessions)
    shop_site.pages["/"] = NPM_PAGE

    # when it loads analytics with Patron as its CDN, identifies the visitor, tracks a
    # product added to the cart, and a page view
    with _shop_browser() as (page, traffic):
        page.goto(f"{shop_site.url}/")
        outcome: dict[str, Any] = page.evaluate(
            NPM_CALLS,
            {
                "writeKey": write_key,
                "cdnURL": live_server.url,
                "product": PRODUCT_ADDED,
                "seconds": CALL_TIMEOUT_SECONDS,
            },
        )

    # then analytics.js talked to Patron and nothing else, and counts every call as delivered
    assert traffic.outside == []
    assert traffic.console_errors == []
    assert outcome["error"] is None
    sent = outcome["calls"]
    assert [(call["type"], call["failed"]) for call in sent] == [
        ("identify", None),
        ("track", None),
        ("page", None),
    ]
    assert traffic.paths_on(live_server.url) == sorted(
        [f"/v1/projects/{write_key}/settings", "/v1/i", "/v1/t", "/v1/p"]
    )
    # and each call is in the event log once, under the messageId analytics.js gave it
    stored = _stored(sessions)
    assert [e.message_id for e in stored] == [call["messageId"] for call in sent]
    _assert_the_shop_calls_are_stored_once(stored, f"{shop_site.url}/")


def test_snippet_with_patron_as_cdn_sends_a_batch_once(
    live_server: LiveServer, shop_site: ShopSite, sessions: sessionmaker[Session]
) -> None:
    # given a shop's page on another origin with the snippet pointing analytics.js at Patron,
    # and three calls queued before standalone.js has loaded
    write_key = _write_key(sessions)
    shop_site.pages["/"] = _snippet_page(write_key, live_server.url)

    # when the page loads and analytics.js sends the queued calls in one batch
    with _shop_browser() as (page, traffic):
        try:
            with page.expect_response(
                f"{live_server.url}/v1/b", timeout=CALL_TIMEOUT_SECONDS * 1000
            ) as answer:
                page.goto(f"{shop_site.url}/")
        except PlaywrightTimeoutError:
            pytest.fail(f"no batch reached Patron; the page's errors: {traffic.console_errors}")
        status = answer.value.status
        body = answer.value.json()

    # then Patron took the batch, and the browser talked to nothing else
    assert (status, body) == (200, {"success": True})
    assert traffic.outside == []
    assert traffic.console_errors == []
    assert traffic.paths_on(live_server.url) == sorted(
        [f"/v1/projects/{write_key}/settings", "/v1/b"]
    )
    # and each queued call is in the event log once
    stored = _stored(sessions)
    assert len({e.message_id for e in stored}) == 3
    _assert_the_shop_calls_are_stored_once(stored, f"{shop_site.url}/")


def test_settings_behind_a_local_proxy_name_the_public_host(
    live_server: LiveServer, sessions: sessionmaker[Session]
) -> None:
    # given a reverse proxy on the same machine that passes the browser's Host header on
    write_key = _write_key(sessions)

    # when analytics.js asks it for its settings over HTTPS
    response = httpx.get(
        f"{live_server.url}/v1/projects/{write_key}/settings",
        headers={"Host": "track.shop.example", "X-Forwarded-Proto": "https"},
    )

    # then they send the events to the public host, over HTTPS
    assert response.status_code == 200
    segment_io = response.json()["integrations"]["Segment.io"]
    assert (segment_io["apiHost"], segment_io["protocol"]) == ("track.shop.example/v1", "https")
