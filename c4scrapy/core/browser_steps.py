"""What a browser page must do after navigation, as plain data (Crawl4AI's order and syntax)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c4scrapy.core.config import CrawlerRunConfig

#: wait_for_images waits at most this long (or page_timeout when shorter).
IMAGES_WAIT_LIMIT_MS = 10_000
#: The boolean steps, in the order they run; the last three are captures.
FLAG_STEPS = ("process_iframes", "remove_overlay_elements", "pdf", "capture_mhtml", "screenshot")


def parse_wait_for(spec: str) -> tuple[str, str]:
    """Crawl4AI's ``wait_for`` syntax -> ``("css", selector)`` or ``("js", expression)``.

    ``"css:..."`` and ``"js:..."`` say which; a bare function is JavaScript, anything else
    a CSS selector.
    """
    text = spec.strip()
    if text.startswith("js:"):
        return "js", text[3:].strip()
    if text.startswith("css:"):
        return "css", text[4:].strip()
    if text.startswith(("()", "function", "async ")):
        return "js", text
    return "css", text


def page_steps(config: CrawlerRunConfig) -> dict[str, Any]:
    """The in-page work ``config`` asks for (``run_page_steps``' argument); ``{}``: none."""
    steps: dict[str, Any] = {}
    if config.wait_for:
        kind, target = parse_wait_for(config.wait_for)
        steps["wait_for"] = [kind, target, config.wait_for_timeout or config.page_timeout]
    if config.wait_for_images:
        steps["wait_for_images"] = min(config.page_timeout, IMAGES_WAIT_LIMIT_MS)
    for name in FLAG_STEPS:
        if getattr(config, name):
            steps[name] = True
    if steps:
        steps["timeout"] = config.page_timeout
    return steps
