"""``extract_job``: what an extraction process runs for one page (``C4_EXTRACT_PROCESSES``).

``extract_page`` on the page's bytes, with the config sent pickled and kept here by its
bytes, and what the page cost this process: CPU seconds, and the process's peak RSS."""

from __future__ import annotations

import pickle
import resource
import time
from collections import Counter
from typing import TYPE_CHECKING

from c4scrapy.core.page import extract_page

if TYPE_CHECKING:
    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.core.items import PageItem

_CONFIGS_KEPT = 32
_configs: dict[bytes, CrawlerRunConfig] = {}


def extract_job(
    body: bytes, url: str, config: bytes, status_code: int, content_type: str
) -> tuple[PageItem, dict[str, int], float, int]:
    """(the page, its stat counts, CPU seconds, peak RSS in KiB) for one page; never
    raises for bad input."""
    started = time.process_time()
    counts: Counter[str] = Counter()
    page = extract_page(
        body,
        url,
        _config(config),
        status_code=status_code,
        content_type=content_type,
        counts=counts,
    )
    cpu = time.process_time() - started
    return page, dict(counts), cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _config(pickled: bytes) -> CrawlerRunConfig:
    config = _configs.get(pickled)
    if config is None:
        if len(_configs) >= _CONFIGS_KEPT:
            _configs.clear()
        config = _configs[pickled] = pickle.loads(pickled)
    return config
