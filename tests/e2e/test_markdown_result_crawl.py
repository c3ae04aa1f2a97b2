"""The markdown result through a real crawl: ``-a content_filter=main``, a JSON-lines feed
and a JOBDIR (disk queues) run; the item rebuilt from the feed has the whole result."""

from __future__ import annotations

from scrapy import Request
from scrapy.squeues import PickleFifoDiskQueue
from scrapy.utils.test import get_crawler

from c4scrapy import MainContentFilter, MarkdownGenerationResult, PageItem, extract_page
from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.core.markdown import DefaultMarkdownGenerator
from tests._support.crawling import run_crawl

PARAGRAPH = (
    "The river rose by two metres overnight and the town's lower streets were closed to "
    "traffic while volunteers stacked sandbags along the quay until the early morning. "
)
ARTICLE = f"""<html><head><title>Flood</title></head><body>
<nav><a href="/">Home</a> <a href="/weather">Weather</a> <a href="/sport">Sport</a></nav>
<article><h1>River floods the lower town</h1><p>{PARAGRAPH * 2}</p>
<p>Officials <a href="/report.html" title="Flood report">published a report</a> and said
{PARAGRAPH}</p><p>{PARAGRAPH} The clean-up will take a week.</p></article>
<footer><a href="/privacy">Privacy policy</a> · Copyright 2020 Town News</footer>
</body></html>"""


def test_feed_rows_rebuild_the_markdown_result(site_server, tmp_path):
    (tmp_path / "site" / "index.html").write_text(ARTICLE)
    (tmp_path / "site" / "report.html").write_text(f"<html><body><p>{PARAGRAPH}</p></body></html>")
    run = run_crawl(
        tmp_path / "crawl",
        args={"url": site_server.url, "content_filter": "main", "max_pages": "2"},
        settings={"JOBDIR": str(tmp_path / "job")},
    )
    assert run.returncode == 0, run.log[-2000:]
    row = run.by_url()[site_server.url]
    assert isinstance(row["markdown"], str)  # the feed's markdown is the markdown text
    assert "Weather" in row["markdown"]
    assert "Weather" not in row["fit_markdown"]
    assert "Copyright" not in row["fit_markdown"]
    assert "# River floods the lower town" in row["fit_markdown"]
    item = PageItem(**row)
    md = item.markdown
    assert isinstance(md, MarkdownGenerationResult)
    assert md.fit_markdown == row["fit_markdown"]
    assert md.fit_html == row["fit_html"]
    report = site_server.url + "report.html"
    assert f"⟨{_number(md.references_markdown, report)}⟩ {report}: Flood report - " in (
        md.references_markdown
    )
    assert "published a report⟨" in md.markdown_with_citations


def _number(references: str, url: str) -> int:
    for line in references.splitlines():
        if line.startswith("⟨") and line.split(" ", 2)[1].rstrip(":") == url:
            return int(line[1 : line.index("⟩")])
    raise AssertionError(f"{url} not in {references!r}")


def test_item_in_a_request_survives_a_jobdir_disk_queue(tmp_path):
    config = CrawlerRunConfig(markdown_generator=DefaultMarkdownGenerator(MainContentFilter()))
    item = extract_page(ARTICLE, "http://127.0.0.1/", config)
    crawler = get_crawler()
    queue = PickleFifoDiskQueue(crawler, str(tmp_path / "q"))
    queue.push(Request("http://127.0.0.1/next", meta={"page": item}))
    queue.close()
    queue = PickleFifoDiskQueue(crawler, str(tmp_path / "q"))
    restored = queue.pop().meta["page"]
    queue.close()
    assert isinstance(restored.markdown, MarkdownGenerationResult)
    assert restored.markdown == item.markdown
    assert restored.markdown.fit_markdown == item.fit_markdown
    assert restored.markdown.markdown_with_citations == item.markdown.markdown_with_citations
