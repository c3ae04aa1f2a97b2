"""Static sites for ``browser="auto"``: pages that need JavaScript and pages that do not.

``write_mixed_site(dir, n)``: ``index.html`` links ``n`` pages of each kind:

- ``ssr/I.html``: server-rendered text and links (a script that changes nothing);
- ``spa/I.html``: an empty ``<div id="root">`` that a script fills with text and links;
- ``noscript/I.html``: a ``<noscript>`` asking for JavaScript; a script writes the page;
- ``scripted/I.html``: no text, three scripts, the last writes text and links.

``write_enhanced_site(dir, n)``: ``n`` server-rendered pages whose scripts add two
"related" links (to example.com): no signal, so only a probe shows that they change in
the browser.
"""

from __future__ import annotations

from pathlib import Path

KINDS = ("ssr", "spa", "noscript", "scripted")

_TEXT = (
    "Page {i} of the {kind} section. This paragraph is long enough to read as content: "
    "it talks about crawling, rendering and the cost of opening a browser for pages that "
    "do not need one. "
)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body>{body}</body></html>"
    )


def _content(kind: str, i: int, n: int) -> tuple[str, list[str]]:
    text = " ".join([_TEXT.format(i=i, kind=kind)] * 6)
    links = [f"/{kind}/{(i + 1) % n}.html", f"/ssr/{i}.html", "/index.html"]
    return text, links


def _js_writer(target: str, text: str, links: list[str]) -> str:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    html = f"<h1>Rendered</h1><p>{text}</p><ul>{anchors}</ul>"
    return f"<script>{target}.insertAdjacentHTML('beforeend', {html!r});</script>"


def write_mixed_site(directory: Path, n: int = 5, ssr: int | None = None) -> list[str]:
    """Write the site (``n`` pages of each kind, ``ssr`` server-rendered ones if given);
    returns every page path (index first)."""
    paths = ["/index.html"]
    for kind in KINDS:
        (directory / kind).mkdir(parents=True, exist_ok=True)
        count = ssr if kind == "ssr" and ssr is not None else n
        for i in range(count):
            text, links = _content(kind, i, count)
            if kind == "ssr":
                anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
                body = (
                    f"<h1>Server page {i}</h1><p>{text}</p><ul>{anchors}</ul>"
                    "<script>window.analytics = [];</script>"
                )
            elif kind == "spa":
                body = '<div id="root"></div>' + _js_writer(
                    "document.getElementById('root')", text, links
                )
            elif kind == "noscript":
                body = (
                    "<noscript>You need to enable JavaScript to run this app.</noscript>"
                    '<main id="content"></main>'
                    + _js_writer("document.getElementById('content')", text, links)
                )
            else:
                body = "<script>window.a = 1;</script><script>window.b = 2;</script>" + _js_writer(
                    "document.body", text, links
                )
            (directory / kind / f"{i}.html").write_text(_page(f"{kind} {i}", body))
            paths.append(f"/{kind}/{i}.html")
    anchors = "".join(f'<li><a href="{p}">{p}</a></li>' for p in paths[1:])
    index = _page("Mixed site", f"<h1>Mixed site</h1><p>{_TEXT * 4}</p><ul>{anchors}</ul>")
    (directory / "index.html").write_text(index)
    return paths


def write_enhanced_site(directory: Path, n: int = 5) -> list[str]:
    """Write the site; returns every page path (index first)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = ["/index.html"] + [f"/page/{i}.html" for i in range(n)]
    (directory / "page").mkdir(exist_ok=True)
    for number, path in enumerate(paths):
        text = " ".join([_TEXT.format(i=number, kind="enhanced")] * 6)
        links = paths[1:] if number == 0 else ["/index.html"]
        related = [f"https://example.com/related/{number}/{k}" for k in (1, 2)]
        anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
        body = (
            f"<h1>Enhanced {number}</h1><p>{text}</p><ul>{anchors}</ul>"
            '<aside id="related"></aside>'
            + _js_writer("document.getElementById('related')", "Related pages", related)
        )
        (directory / path.lstrip("/")).write_text(_page(f"enhanced {number}", body))
    return paths
