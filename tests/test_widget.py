"""The search box in a real browser: Chromium drives the widget embedded on other origins.

The real app runs under uvicorn on loopback with ROLEQA_CORS_ORIGINS naming one intranet page's
origin; two tiny page servers on other ports embed the widget with the one-tag snippet, one from
that allowed origin and one from an origin that is not allowed. Screenshots land in
artifacts/screenshots/.
"""

from __future__ import annotations

import html
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from service.api import create_app
from service.engine import Engine
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
BACKLOG = "who prioritizes the backlog"
PATH_SEPARATOR = " \u203a "  # how the widget joins a section path
expect.set_options(timeout=20_000)  # the machine is shared: allow slow, never wrong
OUT_OF_SCOPE = "what is the capital of France"

EMBED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intranet · Teams</title>
<link rel="icon" href="data:,">
<script src="{service}/widget.js" defer></script></head>
<body style="margin:0;padding:32px;background:#eef1f5;font-family:system-ui,sans-serif">
<div style="max-width:760px;margin:auto"><h2 style="margin:0 0 16px">Intranet · Teams and roles</h2>
<roleqa-search {attributes}></roleqa-search></div></body></html>
"""


@dataclass(frozen=True)
class Sites:
    service: str  # the roleqa app
    intranet: str  # a page origin named in ROLEQA_CORS_ORIGINS
    elsewhere: str  # a page origin that is not


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class _IntranetPage(BaseHTTPRequestHandler):
    """Some intranet page that embeds the widget; the query string sets its attributes."""

    def do_GET(self) -> None:
        service: str = self.server.service  # type: ignore[attr-defined]
        attributes = {"endpoint": service, "k": "5", "placeholder": "Ask about our roles"}
        attributes.update(parse_qsl(urlsplit(self.path).query))
        body = EMBED.format(
            service=service,
            attributes=" ".join(f'{k}="{html.escape(v)}"' for k, v in attributes.items()),
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _intranet_page(service: str) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _IntranetPage)
    server.service = service  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _uvicorn(app: FastAPI, sock: socket.socket) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def sites(settings: Settings, engine: Engine) -> Iterator[Sites]:
    sock = _loopback_socket()
    service = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with (
        _intranet_page(service) as intranet,
        _intranet_page(service) as elsewhere,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("ROLEQA_CORS_ORIGINS", intranet)
        allowed = Settings(index_dir=settings.index_dir, corpus_dir=settings.corpus_dir)
        with _uvicorn(create_app(allowed, engine), sock):
            yield Sites(service, intranet, elsewhere)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 960, "height": 900}, color_scheme="light")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def api(sites: Sites, question: str, **params: str) -> dict[str, Any]:
    response = httpx.get(f"{sites.service}/search", params={"q": question, "k": 5, **params})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def open_intranet(page: Page, origin: str, **attributes: str) -> Locator:
    page.goto(f"{origin}/?{urlencode(attributes)}")
    box = page.get_by_role("combobox")
    expect(box).to_be_visible()
    return box


def badge_texts(options: Locator) -> list[str]:
    return options.locator(".badge").all_inner_texts()


def badge_labels(passages: list[dict[str, Any]]) -> list[str]:
    """What the badges should say for these passages: role names, "Shared" or no role."""
    labels = {None: "No specific role", "shared": "Shared"}
    return [labels.get(p["role"], p["role"]) for p in passages]


def test_typed_question_shows_role_attributed_results_cross_origin(
    page: Page, sites: Sites
) -> None:
    searches: list[str] = []
    page.on(
        "request",
        lambda r: (
            searches.append(urlsplit(r.url).path) if r.url.startswith(sites.service) else None
        ),
    )
    box = open_intranet(page, sites.intranet)
    box.press_sequentially(BACKLOG, delay=40)  # as a person types: the box waits, then asks once

    expected = api(sites, BACKLOG)
    options = page.get_by_role("option")
    expect(options).to_have_count(len(expected["passages"]))
    assert badge_texts(options) == badge_labels(expected["passages"])
    first = expected["passages"][0]
    expect(options.first.locator("mark")).to_have_text(first["answer"])
    expect(options.first.locator(".path")).to_have_text(PATH_SEPARATOR.join(first["section"]))
    expect(page.locator("roleqa-search .summary .badge")).to_have_text(expected["answer_role"])
    expect(page.get_by_role("status")).to_contain_text(f"Answer about {expected['answer_role']}")

    # One stable colour per role: same role, same colour; different roles, different colours.
    colours: dict[str, set[str]] = {}
    for badge in options.locator(".badge").all():
        colour = badge.evaluate("b => getComputedStyle(b).backgroundColor")
        colours.setdefault(badge.inner_text(), set()).add(colour)
    assert all(len(c) == 1 for c in colours.values())
    assert len({c.pop() for c in colours.values()}) == len(colours)

    assert searches.count("/search") < len(BACKLOG) // 2, "typing must be debounced"
    box.fill("what does a SAFe Product Manager do")
    box.press("Enter")
    expect(page.locator("roleqa-search .summary .badge")).to_have_text("SAFe Product Manager")
    assert searches.count("/roles") == 1, "the role book is fetched once"
    box.fill(BACKLOG)
    box.press("Enter")
    expect(options.first.locator("mark")).to_have_text(first["answer"])
    shoot(page, "results-cross-origin")


def test_keyboard_moves_expands_and_clears(page: Page, sites: Sites) -> None:
    box = open_intranet(page, sites.intranet)
    box.fill(BACKLOG)
    box.press("Enter")
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    controls = box.get_attribute("aria-controls")
    expect(page.get_by_role("listbox")).to_have_attribute("id", controls or "")

    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(0).get_attribute("id") or "")
    box.press("ArrowDown")
    box.press("ArrowDown")
    box.press("ArrowUp")
    second = options.nth(1)
    expect(box).to_have_attribute("aria-activedescendant", second.get_attribute("id") or "")
    expect(second).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    assert second.evaluate("li => getComputedStyle(li).outlineStyle") == "solid", "visible focus"

    passage = api(sites, BACKLOG)["passages"][1]
    box.press("Enter")
    expect(second.locator(".text")).to_have_text(passage["text"])
    expect(second).to_contain_text(
        f"{passage['source']} · characters {passage['start']}\u2013{passage['end']}"
    )
    expect(box).to_be_focused()
    shoot(page, "keyboard-expanded")

    box.press("Escape")
    expect(box).to_have_value("")
    expect(options).to_have_count(0)
    expect(box).to_have_attribute("aria-expanded", "false")
    assert box.get_attribute("aria-activedescendant") is None


def test_out_of_scope_question_shows_the_no_answer_state(page: Page, sites: Sites) -> None:
    assert api(sites, OUT_OF_SCOPE)["no_answer"] is True
    box = open_intranet(page, sites.intranet)
    box.fill(OUT_OF_SCOPE)
    box.press("Enter")
    expect(page.get_by_text("No good answer in these documents", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("No good answer in these documents")
    expect(page.locator("roleqa-search .summary")).to_be_hidden()
    expect(page.locator("roleqa-search mark")).to_have_count(0)
    shoot(page, "no-answer")


def test_role_attribute_restricts_results_to_that_role(page: Page, sites: Sites) -> None:
    box = open_intranet(page, sites.intranet, role="PO")
    box.fill("what are the key responsibilities")
    box.press("Enter")
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    expected = api(sites, "what are the key responsibilities", role="PO")["passages"]
    assert badge_texts(options) == badge_labels(expected)
    assert set(badge_texts(options)) <= {"Product Owner", "Shared"}


def test_page_on_a_disallowed_origin_is_refused_by_cors(page: Page, sites: Sites) -> None:
    refused = httpx.get(
        f"{sites.service}/search", params={"q": BACKLOG}, headers={"Origin": sites.elsewhere}
    )
    assert "access-control-allow-origin" not in refused.headers
    allowed = httpx.get(
        f"{sites.service}/search", params={"q": BACKLOG}, headers={"Origin": sites.intranet}
    )
    assert allowed.headers["access-control-allow-origin"] == sites.intranet

    box = open_intranet(page, sites.elsewhere)
    box.fill(BACKLOG)
    box.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Search is unavailable")
    expect(alert).to_contain_text(f"may not accept requests from {sites.elsewhere}")
    expect(page.get_by_role("option")).to_have_count(0)
    shoot(page, "cors-refused")


def test_service_down_shows_an_error(page: Page, sites: Sites) -> None:
    closed = _loopback_socket()  # a port nothing listens on
    down = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    box = open_intranet(page, sites.intranet, endpoint=down)
    box.fill(BACKLOG)
    box.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text(
        f"Could not reach the search service at {down}"
    )
    expect(page.get_by_role("option")).to_have_count(0)
    shoot(page, "service-down")


def test_refused_question_shows_the_services_detail(page: Page, sites: Sites) -> None:
    box = open_intranet(page, sites.intranet, role="Scrum Master")
    box.fill(BACKLOG)
    box.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The search service could not answer")
    expect(alert).to_contain_text("unknown role 'Scrum Master'")
    expect(alert).to_contain_text("HTTP 422")


def test_stale_response_never_replaces_a_newer_one(page: Page, sites: Sites) -> None:
    # Hold back answers to "slowly ..." questions and deliver them even after the widget has
    # given up on them, as a misbehaving proxy might: only the newest question may be shown.
    page.add_init_script(
        """
        const realFetch = window.fetch;
        window.fetch = async (url, options = {}) => {
          if (!String(url).includes("slowly")) return realFetch(url, options);
          await new Promise((done) => setTimeout(done, 1500));
          const response = await realFetch(url);
          window.slowArrived = true;
          return response;
        };
        """
    )
    box = open_intranet(page, sites.intranet)
    box.fill("slowly: what does a SAFe Product Manager do")
    box.press("Enter")
    box.fill(BACKLOG)
    box.press("Enter")
    expected = api(sites, BACKLOG)
    options = page.get_by_role("option")
    expect(options.first.locator("mark")).to_have_text(expected["passages"][0]["answer"])
    page.wait_for_function("window.slowArrived === true")
    page.evaluate("new Promise((done) => setTimeout(done, 100))")  # let the widget read it
    expect(options.first.locator("mark")).to_have_text(expected["passages"][0]["answer"])
    summary = page.locator("roleqa-search .summary .badge")
    expect(summary).to_have_text(expected["answer_role"])


def test_text_from_the_service_is_never_parsed_as_html(page: Page, sites: Sites) -> None:
    hostile = '<img src=x onerror="window.pwned=1">'
    answer = {
        "question": "q",
        "answer_role": hostile,
        "confidence": 0.9,
        "no_answer": False,
        "passages": [
            {
                "id": "x#1",
                "rank": 1,
                "score": 0.5,
                "text": f"Before. {hostile} is the answer. After.",
                "answer": f"{hostile} is the answer.",
                "role": hostile,
                "role_scores": {},
                "section": [hostile],
                "source": hostile,
                "start": 0,
                "end": 10,
            }
        ],
        "took_ms": 1.0,
    }
    page.route(
        f"{sites.service}/search?*",
        lambda route: route.fulfill(
            json=answer, headers={"Access-Control-Allow-Origin": sites.intranet}
        ),
    )
    box = open_intranet(page, sites.intranet)
    box.fill("anything at all")
    box.press("Enter")
    option = page.get_by_role("option")
    expect(option.locator("mark")).to_have_text(f"{hostile} is the answer.")
    expect(option.locator(".path")).to_have_text(hostile)
    box.press("ArrowDown")
    box.press("Enter")
    expect(option).to_contain_text(hostile)
    assert page.locator("roleqa-search img").count() == 0
    assert page.evaluate("window.pwned") is None


def test_search_page_works_under_its_strict_csp(browser: Browser, page: Page, sites: Sites) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.add_init_script(
        "window.violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.violations.push(e.violatedDirective));"
    )
    response = page.goto(f"{sites.service}/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]

    page.get_by_role("button", name="Who prioritizes the backlog?").click()
    box = page.get_by_role("combobox")
    expect(box).to_have_value("Who prioritizes the backlog?")
    expect(page.get_by_role("option").first).to_be_visible()
    expect(page.get_by_role("button", name="Who prioritizes the backlog?")).to_be_hidden()
    # The shadow root's constructed stylesheet applied (a policy refusing it would leave 0px).
    assert box.evaluate("i => getComputedStyle(i).height") == "48px"
    assert page.evaluate("window.violations") == []
    assert problems == []
    shoot(page, "search-page")

    dark = browser.new_page(viewport={"width": 960, "height": 900}, color_scheme="dark")
    dark.goto(f"{sites.service}/")
    dark.get_by_role("button", name="What does a SAFe Product Manager do?").click()
    expect(dark.get_by_role("option").first).to_be_visible()
    shoot(dark, "search-page-dark")
    dark.close()

    # The policy is really enforced: an inline script is refused and reported.
    with pytest.raises(Exception, match=r"Content Security Policy|Refused"):
        page.add_script_tag(content="window.injected = 1")
    assert page.evaluate("window.injected") is None
    assert "script-src-elem" in page.evaluate("window.violations")
