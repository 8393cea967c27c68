"""Web and app behaviour as Segment messages, following Segment's e-commerce spec.

The e-shop's analytics.js sends page views and e-commerce events under an ``anonymousId``
cookie, with the e-shop customer id as ``userId`` once the visitor has logged in. The app's
SDK sends screens and the same e-commerce events with its device in ``context.device``
(id, push token, ios/android). In-store tablets run the app too: one device, many shoppers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from patron.world.draw import below
from patron.world.timeline import CURRENCY, iso_utc_ms
from patron.world.writers import dumps

if TYPE_CHECKING:
    import random

    from patron.world.catalogue import Catalogue, Product
    from patron.world.shopping import Line, Purchase
    from patron.world.writers import Spool

SHOP_URL = "https://shop.patron-retail.co.uk"
WEB_LIBRARY = {"name": "analytics.js", "version": "next-1.72.0"}
USER_AGENTS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36"
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36"
    ),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0"
    ),
)
REFERRERS = (
    "",
    "",
    "https://www.google.com/",
    "https://www.instagram.com/",
    "https://www.bing.com/",
)
APP_INFO = {"name": "Patron Retail", "version": "5.3.1", "build": "5310"}
IOS_MODELS = ("iPhone14,5", "iPhone15,2", "iPhone15,4", "iPhone16,1", "iPhone13,2")
ANDROID_MODELS = (("samsung", "SM-S911B"), ("Google", "Pixel 8"), ("samsung", "SM-A546B"))
TABLET_MODEL = ("samsung", "SM-X200")
APP_SCREENS = ("Home", "Search", "Category", "Offers")


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(slots=True)
class Cookie:
    """A browser's analytics.js cookie: its anonymousId, and who last logged in on it."""

    anonymous_id: str
    user_agent: str
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Device:
    """An app install: its anonymousId and the context its SDK sends."""

    anonymous_id: str
    context: dict[str, Any]
    ios: bool


@dataclass(slots=True)
class _Step:
    kind: str
    name: str
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    # Who the message is from: once a visitor logs in mid-session, the rest carry the userId.
    user_id: str | None = None
    page: str | None = None


def major(minor: int) -> float:
    """Money as Segment's spec writes it: a number in major units."""
    return minor / 100


@dataclass(slots=True)
class EventWriter:
    """Builds sessions of messages and spools them under their timestamps."""

    rng: random.Random
    catalogue: Catalogue
    spool: Spool
    _product_properties: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- identities --------------------------------------------------------------------------

    def cookie(self) -> Cookie:
        return Cookie(new_uuid(self.rng), self.rng.choice(USER_AGENTS))

    def device(self) -> Device:
        rng = self.rng
        ios = rng.random() < 0.55
        if ios:
            device: dict[str, Any] = {
                "id": new_uuid(rng).upper(),
                "manufacturer": "Apple",
                "model": rng.choice(IOS_MODELS),
                "type": "ios",
                "token": f"{rng.getrandbits(256):064x}",
            }
            os = {"name": "iOS", "version": rng.choice(("17.4", "17.5", "18.1"))}
            library = {"name": "analytics-swift", "version": "1.5.11"}
        else:
            manufacturer, model = rng.choice(ANDROID_MODELS)
            device = {
                "id": f"{rng.getrandbits(64):016x}",
                "manufacturer": manufacturer,
                "model": model,
                "type": "android",
                "token": f"{_token(rng, 22)}:APA91b{_token(rng, 134)}",
            }
            os = {"name": "Android", "version": rng.choice(("13", "14"))}
            library = {"name": "analytics-kotlin", "version": "1.16.0"}
        context = {
            "app": APP_INFO,
            "device": device,
            "os": os,
            "library": library,
            "locale": "en-GB",
            "timezone": "Europe/London",
        }
        return Device(new_uuid(rng), context, ios)

    # -- web ---------------------------------------------------------------------------------

    def web_order(
        self,
        cookie: Cookie,
        purchase: Purchase,
        order_id: str,
        *,
        user_id: str | None,
        traits: dict[str, Any],
    ) -> None:
        """A visit that ends in an order: browse, add to cart, log in or not, check out."""
        rng = self.rng
        cart_id = f"{rng.getrandbits(64):016x}"
        who = cookie.user_id
        steps = [self._landing(who)]
        steps.extend(self._shopping_steps(purchase.lines, cart_id, who))
        if user_id is not None and who != user_id:
            steps.append(_Step("identify", "", traits=traits, user_id=user_id))
            cookie.user_id = who = user_id
        elif user_id is None:
            # A guest checkout: the shop identifies the visitor by the email typed in.
            steps.append(_Step("identify", "", traits=traits, user_id=who))
        checkout = self._order_properties(purchase, order_id, cart_id)
        steps.append(_Step("track", "Checkout Started", checkout, user_id=who, page="/checkout"))
        steps.append(
            _Step("track", "Order Completed", checkout, user_id=who, page="/checkout/complete")
        )
        self._emit_web(cookie, steps, end_ms=purchase.at * 1000)

    def web_browse(
        self,
        cookie: Cookie,
        at: int,
        month: int,
        departments: tuple[str, ...],
        *,
        sign_up: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """A visit without an order; some fill a cart and leave it (an abandoned cart).

        ``sign_up`` (the new customer id and its traits): the visitor opens an account.
        """
        rng = self.rng
        who = cookie.user_id
        steps = [self._landing(who)]
        if sign_up is not None:
            who, traits = sign_up
            steps.append(_Step("identify", "", traits=traits, user_id=who, page="/account"))
            cookie.user_id = who
        viewed = [
            self.catalogue.pick(rng, month, rng.choice(departments) if rng.random() < 0.7 else None)
            for _ in range(rng.randint(1, 3))
        ]
        steps.extend(
            _Step("track", "Product Viewed", self._product(product), user_id=who,
                  page=f"/p/{product.slug}")
            for product in viewed
        )  # fmt: skip
        if rng.random() < 0.3:
            cart_id = f"{rng.getrandbits(64):016x}"
            added = viewed[: rng.randint(1, len(viewed))]
            products = []
            for product in added:
                properties = {**self._product(product), "cart_id": cart_id, "quantity": 1}
                steps.append(
                    _Step("track", "Product Added", properties, user_id=who,
                          page=f"/p/{product.slug}")
                )  # fmt: skip
                products.append(_line_item(product, 1, product.price))
            if rng.random() < 0.6:
                steps.append(
                    _Step("track", "Cart Viewed", {"cart_id": cart_id, "products": products},
                          user_id=who, page="/cart")
                )  # fmt: skip
            if rng.random() < 0.35:
                value = major(sum(p.price for p in added))
                steps.append(
                    _Step(
                        "track",
                        "Checkout Started",
                        {"cart_id": cart_id, "value": value, "revenue": value,
                         "currency": CURRENCY, "products": products},
                        user_id=who,
                        page="/checkout",
                    )
                )  # fmt: skip
        end_ms = at * 1000 + rng.randrange(1000)
        self._emit_web(cookie, steps, end_ms=end_ms)

    def web_anonymous(self, at: int, month: int) -> None:
        """A visitor who never logs in nor buys."""
        cookie = self.cookie()
        self.web_browse(cookie, at, month, self.catalogue.departments)

    def _landing(self, who: str | None) -> _Step:
        rng = self.rng
        if rng.random() < 0.5:
            return _Step("page", "Home", user_id=who, page="/")
        department = rng.choice(self.catalogue.departments)
        path = "/c/" + department.lower().replace(" & ", "-").replace(" ", "-")
        return _Step("page", department, user_id=who, page=path)

    def _shopping_steps(
        self, lines: tuple[Line, ...], cart_id: str, who: str | None
    ) -> list[_Step]:
        steps = []
        for line in lines:
            path = f"/p/{line.product.slug}"
            steps.append(_Step("track", "Product Viewed", self._product(line.product),
                               user_id=who, page=path))  # fmt: skip
            added = {**self._product(line.product), "cart_id": cart_id, "quantity": line.quantity}
            steps.append(_Step("track", "Product Added", added, user_id=who, page=path))
        if self.rng.random() < 0.6:
            products = [_line_item(ln.product, ln.quantity, ln.unit_price) for ln in lines]
            steps.append(_Step("track", "Cart Viewed", {"cart_id": cart_id, "products": products},
                               user_id=who, page="/cart"))  # fmt: skip
        return steps

    def _emit_web(self, cookie: Cookie, steps: list[_Step], *, end_ms: int) -> None:
        rng = self.rng
        times = _session_times(rng, len(steps), end_ms)
        referrer = rng.choice(REFERRERS)
        for step, at_ms in zip(steps, times, strict=True):
            path = step.page or "/"
            page = {"path": path, "url": SHOP_URL + path, "referrer": referrer}
            referrer = SHOP_URL + path
            context = {"library": WEB_LIBRARY, "page": page, "userAgent": cookie.user_agent,
                       "locale": "en-GB"}  # fmt: skip
            message: dict[str, Any] = {"type": step.kind}
            if step.kind == "track":
                message["event"] = step.name
            elif step.kind == "page":
                message["name"] = step.name
            if step.user_id is not None:
                message["userId"] = step.user_id
            message["anonymousId"] = cookie.anonymous_id
            message["messageId"] = f"ajs-next-{rng.getrandbits(128):032x}"
            timestamp = iso_utc_ms(at_ms)
            message["timestamp"] = timestamp
            if step.kind == "page":
                message["properties"] = {"path": path, "url": page["url"], "title": step.name,
                                         "referrer": page["referrer"]}  # fmt: skip
            elif step.kind == "identify":
                message["traits"] = step.traits or {}
            else:
                message["properties"] = step.properties or {}
            message["context"] = context
            self.spool.add(timestamp, dumps(message))

    # -- app ---------------------------------------------------------------------------------

    def app_signup(self, device: Device, at: int, user_id: str, traits: dict[str, Any]) -> None:
        """The app installed and an account opened: who the device belongs to, with traits."""
        steps = [
            _Step("track", "Application Installed", {"version": APP_INFO["version"],
                                                     "build": APP_INFO["build"]}),
            _Step("track", "Application Opened", {"from_background": False,
                                                  "version": APP_INFO["version"]}),
            _Step("identify", "", traits=traits, user_id=user_id),
        ]  # fmt: skip
        self._emit_app(device, steps, end_ms=at * 1000)

    def app_order(
        self,
        device: Device,
        purchase: Purchase,
        order_id: str,
        user_id: str,
        *,
        traits: dict[str, Any] | None = None,
    ) -> None:
        """A session that ends in an order; ``traits``: the user logs in (identify) first."""
        rng = self.rng
        cart_id = f"{rng.getrandbits(64):016x}"
        steps = [self._app_open(user_id)]
        if traits is not None:
            steps.append(_Step("identify", "", traits=traits, user_id=user_id))
        steps.append(_Step("screen", "Home", user_id=user_id))
        for line in purchase.lines:
            steps.append(_Step("track", "Product Viewed", self._product(line.product),
                               user_id=user_id))  # fmt: skip
            added = {**self._product(line.product), "cart_id": cart_id, "quantity": line.quantity}
            steps.append(_Step("track", "Product Added", added, user_id=user_id))
        checkout = self._order_properties(purchase, order_id, cart_id)
        steps.append(_Step("track", "Checkout Started", checkout, user_id=user_id))
        steps.append(_Step("track", "Order Completed", checkout, user_id=user_id))
        self._emit_app(device, steps, end_ms=purchase.at * 1000)

    def app_browse(
        self,
        device: Device,
        *,
        at: int,
        month: int,
        departments: tuple[str, ...],
        user_id: str,
        traits: dict[str, Any] | None = None,
    ) -> None:
        """Browsing in the app; ``traits``: the user logs in (identify) first, as on a tablet."""
        rng = self.rng
        steps = [self._app_open(user_id)]
        if traits is not None:
            steps.append(_Step("identify", "", traits=traits, user_id=user_id))
        steps.append(_Step("screen", rng.choice(APP_SCREENS), user_id=user_id))
        for _ in range(rng.randint(1, 3)):
            product = self.catalogue.pick(rng, month, rng.choice(departments))
            steps.append(_Step("track", "Product Viewed", self._product(product), user_id=user_id))
        if rng.random() < 0.25:
            cart_id = f"{rng.getrandbits(64):016x}"
            properties = {**self._product(product), "cart_id": cart_id, "quantity": 1}
            steps.append(_Step("track", "Product Added", properties, user_id=user_id))
        self._emit_app(device, steps, end_ms=at * 1000 + rng.randrange(1000))

    def _app_open(self, user_id: str) -> _Step:
        properties = {"from_background": self.rng.random() < 0.4, "version": APP_INFO["version"]}
        return _Step("track", "Application Opened", properties, user_id=user_id)

    def _emit_app(self, device: Device, steps: list[_Step], *, end_ms: int) -> None:
        rng = self.rng
        times = _session_times(rng, len(steps), end_ms)
        for step, at_ms in zip(steps, times, strict=True):
            message: dict[str, Any] = {"type": step.kind}
            if step.kind == "track":
                message["event"] = step.name
            elif step.kind == "screen":
                message["name"] = step.name
            if step.user_id is not None:
                message["userId"] = step.user_id
            message["anonymousId"] = device.anonymous_id
            message_id = new_uuid(rng)
            message["messageId"] = message_id.upper() if device.ios else message_id
            timestamp = iso_utc_ms(at_ms)
            message["timestamp"] = timestamp
            if step.kind == "identify":
                message["traits"] = step.traits or {}
            else:
                message["properties"] = step.properties or {}
            message["context"] = device.context
            self.spool.add(timestamp, dumps(message))

    # -- properties --------------------------------------------------------------------------

    def _product(self, product: Product) -> dict[str, Any]:
        known = self._product_properties.get(product.sku)
        if known is None:
            known = {
                "product_id": product.sku,
                "sku": product.sku,
                "name": product.name,
                "category": product.category,
                "brand": product.brand,
                "price": major(product.price),
                "currency": CURRENCY,
                "url": f"{SHOP_URL}/p/{product.slug}",
            }
            self._product_properties[product.sku] = known
        return known

    def _order_properties(self, purchase: Purchase, order_id: str, cart_id: str) -> dict[str, Any]:
        total = major(purchase.total)
        properties: dict[str, Any] = {
            "order_id": order_id,
            "cart_id": cart_id,
            "total": total,
            "revenue": total,
            "shipping": 0,
            "tax": 0,
            "discount": major(purchase.discount + sum(ln.discount for ln in purchase.lines)),
            "currency": CURRENCY,
            "products": [
                _line_item(ln.product, ln.quantity, ln.unit_price) for ln in purchase.lines
            ],
        }
        if purchase.voucher is not None:
            properties["coupon"] = purchase.voucher
        return properties


def _line_item(product: Product, quantity: int, unit_price: int) -> dict[str, Any]:
    return {
        "product_id": product.sku,
        "sku": product.sku,
        "name": product.name,
        "price": major(unit_price),
        "quantity": quantity,
        "category": product.category,
    }


def _session_times(rng: random.Random, count: int, end_ms: int) -> list[int]:
    """Strictly increasing instants, seconds to minutes apart, the last one at ``end_ms``."""
    gaps = [4_000 + below(rng, 86_000) for _ in range(count - 1)]
    start = end_ms - sum(gaps)
    times = [start]
    for gap in gaps:
        times.append(times[-1] + gap)
    return times


_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _token(rng: random.Random, length: int) -> str:
    bits = rng.getrandbits(6 * length)
    return "".join(_BASE64URL[(bits >> (6 * i)) & 63] for i in range(length))


def tablet(rng: random.Random, store_id: str) -> Device:
    """An in-store tablet: shoppers log in to the app on it one after another."""
    manufacturer, model = TABLET_MODEL
    context = {
        "app": APP_INFO,
        "device": {
            "id": f"{rng.getrandbits(64):016x}",
            "manufacturer": manufacturer,
            "model": model,
            "type": "android",
            "name": f"store-tablet-{store_id.lower()}",
        },
        "os": {"name": "Android", "version": "14"},
        "library": {"name": "analytics-kotlin", "version": "1.16.0"},
        "locale": "en-GB",
        "timezone": "Europe/London",
    }
    return Device(new_uuid(rng), context, ios=False)
