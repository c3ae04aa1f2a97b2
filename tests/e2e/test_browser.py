"""Browser pages: the real Debian Chromium through scrapy-playwright, in real ``scrapy crawl``s.

Two crawls cover the browser features (one per-request plan, one site crawl that loses its
browser half-way); the capture limits run in Playwright directly. Set-up without a browser
is in tests/components/test_browser_setup.py.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import email
import io
import json
import os
import signal
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import scrapy

from c4scrapy.browser.page import CaptureLimits, capture_limits, run_page_steps, use_capture_limits
from c4scrapy.settings import C4Settings
from tests._support.crawling import run_crawl
from tests._support.servers import LocalServer
from tests._support.tools import require_tool

SITE = Path(__file__).resolve().parent / "site_browser"
PNG_RED = (SITE / "img" / "red.png").read_bytes()


class BrowserPlanSpider(scrapy.Spider):
    """``-a plan='[[url, c4 config], ...]'``: one request per entry, with its own config."""

    name = "browser_plan"

    def __init__(self, plan: str = "[]", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = json.loads(plan)

    async def start(self):
        for url, c4 in self.plan:
            yield scrapy.Request(url, meta={"c4": c4}, callback=self.parse)

    def parse(self, response):
        return None


# --- crawls with the real Chromium --------------------------------------------------------


def _png(body: bytes, pause: float = 0.0):
    chunks: list[Any] = [pause, body] if pause else [body]
    return lambda handler: (200, {"Content-Type": "image/png"}, chunks)


def _html(body: str, pause: float = 0.0):
    document = f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"
    chunks: list[Any] = [pause, document.encode()] if pause else document.encode()
    return lambda handler: (200, {"Content-Type": "text/html; charset=utf-8"}, chunks)


@pytest.fixture(scope="module")
def browser_site():
    with LocalServer(SITE) as server:
        server.routes["/slow-image.png"] = _png(PNG_RED, pause=0.6)
        for n in (1, 2, 3):
            server.routes[f"/gallery/{n}.png"] = _png(PNG_RED)
        server.routes["/slow-navigation.html"] = _html("<p>too late</p>", pause=4)
        for n in range(12):
            server.routes[f"/plain/{n}.html"] = _html(f"<h1>Plain page {n}</h1>")
        yield server


@pytest.mark.browser
def test_browser_features_in_one_crawl(browser_site, tmp_path):
    require_tool("chromium", "/usr/bin/chromium")
    base = browser_site.url
    plan = [
        (base + "js-links.html", {"browser": True, "wait_for": "css:#late-link"}),
        (base + "js-links.html?http", {}),
        (
            base + "late-images.html",
            {
                "browser": True,
                "wait_for_images": True,
                "screenshot": True,
                "pdf": True,
                "capture_mhtml": True,
            },
        ),
        (base + "iframe.html", {"browser": True, "process_iframes": True}),
        (base + "overlay.html", {"browser": True, "remove_overlay_elements": True}),
        (base + "overlay.html?kept", {"browser": True}),
        (base + "gallery.html", {"browser": True, "exclude_all_images": True}),
        (base + "slow-navigation.html", {"browser": True, "page_timeout": 1000}),
        (
            base + "js-links.html?never",
            {"browser": True, "wait_for": "#never", "wait_for_timeout": 500},
        ),
        *[(f"{base}plain/{n}.html", {"browser": True}) for n in range(12)],
    ]
    run = run_crawl(
        tmp_path,
        spider="browser_plan",
        args={"plan": json.dumps(plan)},
        settings={
            "SPIDER_MODULES": "tests.e2e.test_browser",
            "C4_BROWSER_ENABLED": "True",
            "CONCURRENT_REQUESTS": 8,
        },
        timeout=120,
    )
    pages = run.by_url()
    assert len(run.items) == len(plan) == len(pages), run.log[-3000:]

    rendered = pages[base + "js-links.html"]
    hrefs = [link["href"] for link in rendered["links"]["internal"]]
    assert hrefs == [f"{base}made-by-js-{n}.html" for n in (1, 2, 3)] + [
        base + "arrived-late.html"
    ]
    assert [image["src"] for image in rendered["media"]["images"]] == [base + "img/green.png"]
    assert rendered["c4"]["browser"]["rendered"] is True
    plain_http = pages[base + "js-links.html?http"]
    assert plain_http["links"]["internal"] == []
    assert "browser" not in plain_http["c4"]

    late = pages[base + "late-images.html"]
    assert [image["src"] for image in late["media"]["images"]] == [
        base + "img/red.png",
        base + "slow-image.png",
    ]
    assert late["c4"]["browser"]["capture_seconds"] > 0  # the screenshot and the PDF
    assert late["c4"]["browser"]["capture_wait_seconds"] >= 0
    png = base64.b64decode(late["screenshot"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", png[16:24]) == (1280, 1800)  # full page, not the viewport
    pypdf = pytest.importorskip("pypdf")
    pdf = pypdf.PdfReader(io.BytesIO(base64.b64decode(late["pdf"])))
    assert len(pdf.pages) >= 1
    assert "Images that load late" in pdf.pages[0].extract_text()
    archive = email.message_from_string(late["mhtml"])
    parts = {part["Content-Location"]: part for part in archive.walk() if part["Content-Location"]}
    slow_image = parts[base + "slow-image.png"]
    assert slow_image.get_content_type() == "image/png"
    assert slow_image.get_payload(decode=True) == PNG_RED

    framed = pages[base + "iframe.html"]
    assert framed["c4"]["browser"]["iframes_merged"] == 2
    assert {link["href"] for link in framed["links"]["internal"]} == {
        base + "frames/deeper.html",  # relative to the frame, not to the parent page
        base + "from-grandchild.html",
    }
    assert [image["src"] for image in framed["media"]["images"]] == [base + "frames/pic.png"]
    for text in ("The parent page says hello", "says hello from inside", "two levels down"):
        assert text in framed["markdown"]
    assert 'class="extracted-iframe-content-0"' in framed["cleaned_html"]  # Crawl4AI's name

    cleared = pages[base + "overlay.html"]
    assert cleared["c4"]["browser"]["overlays_removed"] == 2
    assert "We use cookies" not in cleared["markdown"]
    assert "newsletter" not in cleared["markdown"]
    assert "The real content" in cleared["markdown"]
    assert {link["href"] for link in cleared["links"]["internal"]} == {
        base + "nav-home.html",  # a fixed navigation bar is not an overlay
        base + "nav-docs.html",
        base + "article-next.html",
    }
    assert "We use cookies" in pages[base + "overlay.html?kept"]["markdown"]

    gallery = pages[base + "gallery.html"]
    assert gallery["success"] is True
    assert gallery["media"]["images"] == []
    assert gallery["c4"]["browser"]["images_blocked"] == 3
    assert sum(browser_site.hits[f"/gallery/{n}.png"] for n in (1, 2, 3)) == 0

    timed_out = pages[base + "slow-navigation.html"]
    assert timed_out["success"] is False
    assert "Timeout 1000ms exceeded" in timed_out["error_message"]
    missed = pages[base + "js-links.html?never"]
    assert missed["success"] is False
    assert "wait_for css:#never was not met within 500 ms" in missed["error_message"]
    assert all(pages[f"{base}plain/{n}.html"]["success"] for n in range(12))

    stats = run.stats
    assert stats["c4/browser/pages"] == len(plan) - 3  # one plain HTTP page, two failures
    assert stats["playwright/page_count"] == stats["playwright/page_count/closed"]
    assert stats["playwright/context_count"] == 1
    assert stats["playwright/browser_count"] == 1
    assert stats.get("scheduler/unserializable", 0) == 0


@pytest.mark.browser
def test_capture_limits_belong_to_each_browser():
    """Two browsers in one process keep their own limits (and semaphores, on each loop);
    a browser c4scrapy's handler did not start gets the settings' defaults."""
    chromium = require_tool("chromium", "/usr/bin/chromium")
    from playwright.async_api import async_playwright

    tall = '<body style="margin: 0"><div style="height: 2000px">tall</div></body>'
    steps = {"screenshot": True, "timeout": 10_000}

    async def shoot() -> tuple[CaptureLimits, CaptureLimits, list[dict[str, Any]]]:
        async with async_playwright() as playwright:
            ours, other = [
                await playwright.chromium.launch(executable_path=chromium) for _ in range(2)
            ]
            pages = [await browser.new_page() for browser in (ours, ours, other)]
            for page in pages:
                await page.set_content(tall)
            limits = CaptureLimits(concurrency=1, screenshot_max_height=300)
            use_capture_limits(pages[0], limits)
            use_capture_limits(pages[1], CaptureLimits(4, 100))  # the first set wins
            reports = await asyncio.gather(*(run_page_steps(page, steps) for page in pages))
            assert capture_limits(pages[1]) is limits
            default = capture_limits(pages[2])
            await ours.close()
            await other.close()
            return limits, default, reports

    for _ in range(2):  # a second event loop: nothing is bound to the first
        # in a thread of its own: the test process already runs Twisted's asyncio loop
        with ThreadPoolExecutor(1) as thread:
            limits, default, reports = thread.submit(asyncio.run, shoot()).result()
        assert default is not limits
        assert default == CaptureLimits.from_settings(C4Settings())
        heights = [struct.unpack(">II", report["screenshot"][16:24])[1] for report in reports]
        assert heights == [300, 300, 2000]
        assert [report.get("screenshot_clipped") for report in reports] == [2000, 2000, None]
        assert all(report["capture_wait_seconds"] >= 0 for report in reports)
        assert all(report["capture_seconds"] > 0 for report in reports)


def _kill_browser_of(marker: str) -> int:
    """SIGKILL the Chromium that the crawl whose command line holds ``marker`` launched."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                parents[int(entry.name)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                commands[int(entry.name)] = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
    crawls = {pid for pid, command in commands.items() if marker in command}

    def launched_by_crawl(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid in crawls:
                return True
        return False

    killed = 0
    for pid, command in commands.items():
        if "chromium" in command and "--type=" not in command and launched_by_crawl(pid):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


@pytest.mark.browser
def test_site_crawl_goes_on_when_the_browser_dies(tmp_path):
    require_tool("chromium", "/usr/bin/chromium")
    site = tmp_path / "site"
    (site / "private").mkdir(parents=True)
    links = "".join(f'<a href="/p{n}.html">page {n}</a> ' for n in range(16))
    (site / "index.html").write_text(
        f'<html><body>{links}<a href="/kill-browser.html">kill</a>'
        f'<a href="/private/secret.html">secret</a></body></html>'
    )
    for n in range(16):
        (site / f"p{n}.html").write_text(
            f'<html><body style="margin: 0"><div style="height: 1000px"><h1>Page {n}</h1>'
            f'<img src="/img/{n}.png" alt="picture {n}" width="320" height="200"></div>'
            "</body></html>"
        )
    (site / "private" / "secret.html").write_text("<html><body>secret</body></html>")
    (site / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    kills: list[int] = []
    with LocalServer(site) as server:
        for n in range(16):
            server.routes[f"/img/{n}.png"] = _png(PNG_RED)

        def kill_browser(handler):
            if not kills:
                kills.append(_kill_browser_of(str(tmp_path)))
            return 200, {"Content-Type": "text/html"}, "<html><body>survived</body></html>"

        server.routes["/kill-browser.html"] = kill_browser
        run = run_crawl(
            tmp_path,
            args={"url": server.url, "browser": "true", "screenshot": "true"},
            settings={
                "ROBOTSTXT_OBEY": "True",
                "C4_BROWSER_BLOCK_RESOURCES": "image",
                "C4_BROWSER_CAPTURES_DIR": str(tmp_path / "captures"),
                "C4_BROWSER_SCREENSHOT_MAX_HEIGHT": 600,
                "CONCURRENT_REQUESTS": 4,
            },
            timeout=120,
        )
        image_hits = sum(server.hits[f"/img/{n}.png"] for n in range(16))
        robots_hits = server.hits["/robots.txt"]
        secret_hits = server.hits["/private/secret.html"]
    assert len(kills) == 1
    assert kills[0] >= 1, "the crawl's browser was not found to kill"
    pages = run.by_url()
    expected = {server.url, server.url + "kill-browser.html"} | {
        f"{server.url}p{n}.html" for n in range(16)
    }
    assert set(pages) - {server.url + "private/secret.html"} == expected, run.log[-3000:]
    assert secret_hits == 0
    assert robots_hits == 1
    stats = run.stats
    assert stats["playwright/browser_count"] == 2  # relaunched after it died
    # the pages in flight when it died failed at once and RetryMiddleware fetched them again
    assert 1 <= stats["retry/reason_count/scrapy.exceptions.DownloadFailedError"] <= 4
    assert all(pages[url]["success"] for url in expected)
    for n in range(16):
        page = pages[f"{server.url}p{n}.html"]
        assert [image["alt"] for image in page["media"]["images"]] == [f"picture {n}"]
        screenshot = Path(page["screenshot"])
        assert screenshot.parent == tmp_path / "captures"
        png = screenshot.read_bytes()
        assert png.startswith(b"\x89PNG")
        assert struct.unpack(">II", png[16:24])[1] == 600  # cut at the maximum height
        assert page["c4"]["browser"]["screenshot_clipped"] == 1000
    assert image_hits == 0  # blocked in the browser, still reported from the HTML
    assert stats["playwright/request_count/aborted"] >= 16
    assert 0 <= stats["playwright/page_count"] - stats["playwright/page_count/closed"] <= 4


def test_browser_asked_per_request_without_the_handler_is_reported(browser_site, tmp_path):
    base = browser_site.url
    plan = [(base + "js-links.html", {"browser": True}), (base + "index.html", {"browser": True})]
    run = run_crawl(
        tmp_path,
        spider="browser_plan",
        args={"plan": json.dumps(plan)},
        settings={"SPIDER_MODULES": "tests.e2e.test_browser"},  # no C4_BROWSER_ENABLED
        timeout=60,
    )
    assert len(run.items) == 2
    assert all(item["success"] and "browser" not in item["c4"] for item in run.items)
    assert run.stats["c4/browser/not_rendered"] == 2
    assert run.log.count("asked for the browser but was downloaded without it") == 1
    assert "playwright/page_count" not in run.stats


def test_missing_chromium_stops_the_crawl_at_start_up(tmp_path):
    run = run_crawl(
        tmp_path,
        args={"url": "http://127.0.0.1:9/", "browser": "true"},
        settings={"C4_BROWSER_EXECUTABLE": str(tmp_path / "no-such-chromium")},
        timeout=60,
    )
    assert run.returncode != 0
    assert "C4_BROWSER_EXECUTABLE is" in run.log
    assert "which is not an executable file" in run.log
    assert run.items == []


def test_every_chromium_test_is_marked_browser():
    """A test that asks for Chromium (``require_tool("chromium", ...)``) carries the marker."""
    unmarked = []
    for path in sorted(Path(__file__).resolve().parents[1].rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            asks = any(
                isinstance(call, ast.Call)
                and getattr(call.func, "id", None) == "require_tool"
                and call.args
                and getattr(call.args[0], "value", None) == "chromium"
                for call in ast.walk(node)
            )
            marked = any("mark.browser" in ast.unparse(d) for d in node.decorator_list)
            if asks and not marked:
                unmarked.append(f"{path.name}::{node.name}")
    assert unmarked == []


# --- browser="auto": HTTP first, Chromium where the page needs it --------------------------


def _links_and_words(item: dict[str, Any]) -> tuple[list[str], list[str]]:
    links = item["links"]["internal"] + item["links"]["external"]
    markdown = item["markdown"] or {}
    text = markdown.get("raw_markdown", "") if isinstance(markdown, dict) else markdown
    return sorted(link["href"] for link in links), text.split()


def _auto_and_always(tmp_path: Path, start: str) -> tuple[Any, Any]:
    runs = [
        run_crawl(
            tmp_path / mode,
            args={"url": start, "browser": mode},
            settings={"CONCURRENT_REQUESTS": 8},
            timeout=120,
        )
        for mode in ("auto", "true")
    ]
    for run in runs:
        assert run.items, run.log[-3000:]
        assert all(item["success"] for item in run.items), run.log[-3000:]
    auto, always = runs
    assert set(auto.by_url()) == set(always.by_url())
    for url, item in always.by_url().items():
        assert _links_and_words(auto.by_url()[url]) == _links_and_words(item), url
    return auto, always


@pytest.mark.browser
def test_auto_renders_only_the_pages_that_need_it(chromium, tmp_path):
    from tests._support.mixed_site import write_mixed_site

    paths = write_mixed_site(tmp_path / "site", n=3)
    with LocalServer(tmp_path / "site") as server:
        auto, always = _auto_and_always(tmp_path, server.url + "index.html")
    ways = {
        url.removeprefix(server.url): item["c4"]["render"] for url, item in auto.by_url().items()
    }
    assert len(ways) == len(paths)
    expected = {"spa": "app_root", "noscript": "noscript", "scripted": "scripts"}
    for path, way in ways.items():
        kind = path.split("/")[0]
        if kind in expected:
            assert way == {"mode": "browser", "reason": expected[kind]}, path
    # the first two pages without a signal are probes; the same in the browser: HTTP after
    probes = [path for path, way in ways.items() if way["reason"] == "probe"]
    assert len(probes) == 2
    assert "index.html" in probes
    assert sorted(p for p, w in ways.items() if w["mode"] == "http") == sorted(
        f"ssr/{i}.html" for i in range(3) if f"ssr/{i}.html" not in probes
    )
    assert auto.stats["c4/render/hosts/http"] == 1
    assert auto.stats["c4/render/browser"] == 9 + 2
    assert auto.stats["c4/render/reason/app_root"] == 3
    assert auto.stats["playwright/page_count"] == 11
    assert always.stats["playwright/page_count"] == len(paths)
    assert {item["c4"]["render"]["reason"] for item in always.items} == {"always"}


@pytest.mark.browser
def test_auto_learns_a_site_whose_pages_change_in_the_browser(chromium, tmp_path):
    from tests._support.mixed_site import write_enhanced_site

    paths = write_enhanced_site(tmp_path / "site", n=3)
    with LocalServer(tmp_path / "site") as server:
        start = server.url.replace("127.0.0.1", "localhost") + "index.html"
        auto, _ = _auto_and_always(tmp_path, start)
    reasons = sorted(item["c4"]["render"]["reason"] for item in auto.items)
    assert reasons == ["probe"] + ["site"] * (len(paths) - 1)
    assert auto.stats["c4/render/hosts/browser"] == 1
    related = [link for item in auto.items for link in item["links"]["external"]]
    assert len(related) == 2 * len(paths)
    assert "go to the browser" in auto.log


# --- the private-address guard in Chromium ------------------------------------------------


def _guarded_site(server: LocalServer, asked: list[str]) -> str:
    """A "public" site (public.example, mapped to the local server in Chromium) whose
    pages lead Chromium to the server's loopback address in four ways; ``asked`` collects
    the secret paths the server was asked for."""
    secret = server.url  # http://127.0.0.1:PORT/: not public
    html = {"Content-Type": "text/html; charset=utf-8"}

    def leak(path: str, body: bytes, kind: str = "text/html"):
        def answer(handler: Any) -> tuple[int, dict[str, str], bytes]:
            asked.append(path)
            return 200, {"Content-Type": kind, "Access-Control-Allow-Origin": "*"}, body

        return answer

    server.routes["/secret-image.png"] = leak("/secret-image.png", PNG_RED, "image/png")
    server.routes["/secret-data"] = leak("/secret-data", b"SECRET-FETCHED", "text/plain")
    server.routes["/secret-frame.html"] = leak("/secret-frame.html", b"<p>SECRET-FRAME</p>")
    server.routes["/secret-page.html"] = leak("/secret-page.html", b"<p>SECRET-PAGE</p>")
    server.routes["/secret-socket"] = leak("/secret-socket", b"no WebSocket here")
    server.routes["/secret-worker"] = leak("/secret-worker", b"SECRET-WORKER", "text/plain")
    # a service worker's requests have no page: Playwright does not route them
    server.routes["/sw.js"] = lambda handler: (
        200,
        {"Content-Type": "text/javascript"},
        (
            "self.addEventListener('install', e => e.waitUntil("
            f"fetch('{secret}secret-worker').catch(() => null)));"
        ).encode(),
    )
    server.routes["/index.html"] = lambda handler: (
        200,
        html,
        (
            "<html><head><title>Public</title></head><body><h1>A public page</h1>"
            f'<img src="{secret}secret-image.png" alt="i">'
            f'<iframe src="{secret}secret-frame.html"></iframe>'
            '<p id="out">waiting</p><a href="/redirect-away">away</a><a href="/redirect-tls">tls</a>'
            f"<script>fetch('{secret}secret-data').then(r => r.text())"
            ".then(t => { document.getElementById('out').textContent = t; })"
            ".catch(e => { document.getElementById('out').textContent = 'blocked'; });"
            f"const ws = new WebSocket('{secret.replace('http', 'ws')}secret-socket');"
            "ws.onclose = () => { document.body.dataset.socket = 'closed'; };"
            "const done = () => { document.body.dataset.worker = 'settled'; };"
            "navigator.serviceWorker.register('/sw.js')"  # blocked: resolves to nothing
            ".then(r => r && navigator.serviceWorker.ready).then(done, done);"
            "</script></body></html>"
        ).encode(),
    )
    server.routes["/redirect-away"] = lambda handler: (
        302,
        {"Location": f"{secret}secret-page.html"},
        b"",
    )
    # over https, Chromium asks the proxy for a tunnel (CONNECT), which it refuses
    server.routes["/redirect-tls"] = lambda handler: (
        302,
        {"Location": f"{secret.replace('http:', 'https:')}secret-tls.html"},
        b"",
    )
    return server.url.replace("127.0.0.1", "public.example") + "index.html"


def _guarded_crawl(tmp_path: Path, start: str, **settings: Any) -> Any:
    origin = start.removesuffix("index.html").rstrip("/")
    return run_crawl(
        tmp_path,
        args={"url": start, "browser": "true"},
        settings={
            "EXTENSIONS": {
                "tests._support.statsdump.StatsDump": 0,
                "tests._support.fake_dns.PublicExample": 0,
            },
            "PLAYWRIGHT_LAUNCH_OPTIONS": {
                "args": [
                    "--host-resolver-rules=MAP public.example 127.0.0.1",
                    # a secure context, as an https page is: it may have a service worker
                    f"--unsafely-treat-insecure-origin-as-secure={origin}",
                ]
            },
            # the page is read once its image and frame have loaded and its fetch,
            # WebSocket and service worker have ended (refused or answered): the server
            # has seen every request the page made, or never will
            "C4_WAIT_UNTIL": "load",
            "C4_WAIT_FOR": _ALL_ASKED,
            **settings,
        },
        timeout=120,
    )


_ALL_ASKED = (
    "js:() => { const out = document.getElementById('out');"
    " return !out || (out.textContent !== 'waiting'"
    " && document.body.dataset.socket === 'closed'"
    " && document.body.dataset.worker === 'settled'); }"
)


@pytest.mark.browser
def test_chromium_does_not_take_a_public_page_to_a_private_address(chromium, tmp_path):
    """From a public page, Chromium's image, frame, script fetch, WebSocket and service
    worker to a loopback address are refused, and so are the hops of its redirects there
    (http and https), by the guard's proxy: the server is asked nothing, and the redirected
    pages fail saying why; with C4_ALLOW_PRIVATE_ADDRESSES the same crawl reaches them (so
    the page does ask)."""
    asked: list[str] = []
    with LocalServer(tmp_path / "empty") as server:
        start = _guarded_site(server, asked)
        guarded = _guarded_crawl(tmp_path / "guarded", start)
        reached = list(asked)
        asked.clear()
        allowed = _guarded_crawl(tmp_path / "allowed", start, C4_ALLOW_PRIVATE_ADDRESSES=True)
    away_url, tls_url = (start.replace("index.html", p) for p in ("redirect-away", "redirect-tls"))
    for run in (guarded, allowed):
        assert run.returncode == 0, run.log[-3000:]
        assert sorted(run.by_url()) == [start, away_url, tls_url]
    assert reached == []
    page = guarded.by_url()[start]
    assert page["success"], page
    assert "SECRET" not in json.dumps(page)
    for url in (away_url, tls_url):  # a plain GET refused, a tunnel refused
        away = guarded.by_url()[url]
        assert away["success"] is False
        assert away["error_message"] == (
            f"request ignored: refused the browser's navigation from the public {url} to the "
            "non-public address '127.0.0.1' (C4_ALLOW_PRIVATE_ADDRESSES=True allows it)"
        )
        assert "SECRET" not in json.dumps(away)
    assert guarded.stats["c4/requests/refused/private_address"] == 6
    # the redirect hops: Playwright does not route them, the guard's proxy refuses them
    assert guarded.stats["c4/browser/proxy_refused"] == 2
    assert sorted(asked) == [
        "/secret-data",
        "/secret-frame.html",
        "/secret-image.png",
        "/secret-page.html",
        "/secret-socket",
        "/secret-worker",
    ]
    assert "SECRET-PAGE" in json.dumps(allowed.by_url()[away_url])


class _WebSocketServer:
    """A WebSocket server on 127.0.0.1 that greets each client with one text message (the
    RFC 6455 handshake and one unmasked frame: all a page needs to show it got through)."""

    def __init__(self, greeting: bytes) -> None:
        import socket
        import threading

        self.greeting = greeting
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.clients: list[Any] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import hashlib

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.clients.append(client)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    break
                head += chunk
            key = next(
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            magic = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            accept = base64.b64encode(hashlib.sha1(key + magic).digest())
            client.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + accept
                + b"\r\n\r\n"
                + bytes([0x81, len(self.greeting)])
                + self.greeting
            )

    def close(self) -> None:
        self.listener.close()
        for client in self.clients:
            client.close()


@pytest.mark.browser
def test_a_page_of_the_crawl_keeps_its_websockets_behind_the_guard_proxy(chromium, tmp_path):
    """An intranet page (a host the crawl asked for) talks to its WebSocket server through
    the guard's proxy, which tunnels it as it tunnels https; the same server under another
    private name, which only the page names, is refused."""
    sockets = _WebSocketServer(b"GREETING-OVER-WS")
    script = (
        (
            "const talk = (host, id) => {{"
            f" const ws = new WebSocket(`ws://${{host}}:{sockets.port}/live`);"
            " const out = document.getElementById(id);"
            " ws.onmessage = e => {{ out.textContent = e.data; }};"
            " ws.onerror = () => {{ out.textContent = id + '-failed'; }}; }};"
            "talk('127.0.0.1', 'asked'); talk('localhost', 'named');"
        )
        .replace("{{", "{")
        .replace("}}", "}")
    )
    try:
        with LocalServer(tmp_path / "empty") as server:
            server.routes["/index.html"] = _html(
                f"<p id='asked'>waiting</p><p id='named'>waiting</p><script>{script}</script>"
            )
            run = run_crawl(
                tmp_path / "crawl",
                args={"url": server.url + "index.html", "browser": "true"},
                settings={"C4_WAIT_FOR": "js:() => !document.body.innerText.includes('waiting')"},
                timeout=120,
            )
    finally:
        sockets.close()
    assert run.returncode == 0, run.log[-3000:]
    (page,) = run.items
    assert "GREETING-OVER-WS" in page["markdown"], page["markdown"]
    assert "named-failed" in page["markdown"]
    assert run.stats["c4/browser/proxy_refused"] == 1


@pytest.mark.browser
def test_a_persistent_context_runs_the_configured_chromium(chromium, browser_site, tmp_path):
    """A persistent context (``user_data_dir``) is a browser launch of its own, which
    scrapy-playwright makes without PLAYWRIGHT_LAUNCH_OPTIONS: it gets the system Chromium,
    its flags and the guard's proxy all the same, and renders the pages."""
    profile = tmp_path / "profile"
    run = run_crawl(
        tmp_path / "crawl",
        args={"url": browser_site.url + "plain/0.html", "browser": "true", "depth": "0"},
        settings={"PLAYWRIGHT_CONTEXTS": {"default": {"user_data_dir": str(profile)}}},
        timeout=120,
    )
    assert run.returncode == 0, run.log[-3000:]
    (page,) = run.items
    assert page["success"], page
    assert "Plain page 0" in page["markdown"]
    assert "Executable doesn't exist" not in run.log
    assert (profile / "Default").is_dir()  # the profile Chromium wrote


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made here (no network, no openssl CLI)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.browser
def test_one_browser_renders_http_and_https_pages_through_the_guard_proxy(chromium, tmp_path):
    """A crawl of an http page linking an https one: one Chromium for both schemes, and the
    https page's TLS goes through the guard proxy's tunnel."""
    import ssl

    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    with LocalServer(tmp_path / "empty") as secure, LocalServer(tmp_path / "empty") as plain:
        secure.socket = context.wrap_socket(secure.socket, server_side=True)
        secure_url = secure.url.replace("http:", "https:") + "secure.html"
        secure.routes["/secure.html"] = _html("<h1>Served over TLS</h1>")
        plain.routes["/index.html"] = _html(f'<h1>Plain</h1><a href="{secure_url}">tls</a>')
        run = run_crawl(
            tmp_path / "crawl",
            args={"url": plain.url + "index.html", "browser": "true", "depth": "1"},
            settings={
                "C4_INTERNAL_DOMAINS": "127.0.0.1",
                "PLAYWRIGHT_CONTEXTS": {"default": {"ignore_https_errors": True}},
            },
            timeout=120,
        )
    assert run.returncode == 0, run.log[-3000:]
    pages = run.by_url()
    assert sorted(pages) == [plain.url + "index.html", secure_url]
    assert pages[secure_url]["success"], pages[secure_url]
    assert "Served over TLS" in pages[secure_url]["markdown"]
    assert run.stats["playwright/browser_count"] == 1
    assert "c4/browser/proxy_refused" not in run.stats
