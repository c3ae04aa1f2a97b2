"""Content filters that misbehave on a page holding a trigger word: the faults an
extraction process must survive (importable by name, so workers can unpickle them)."""

from __future__ import annotations

import multiprocessing
import os
import threading
from typing import Any


class Tripwire:
    """Kills its process (``"CRASH"``), never returns (``"HANG"``) or takes a fifth of a
    second (``"SLOW"``) on a page whose HTML holds the word; passes every other page
    through."""

    def filter_content(self, html: str, /) -> list[str]:
        if "CRASH" in html:
            os._exit(3)
        if "HANG" in html:
            threading.Event().wait()
        if "SLOW" in html:
            threading.Event().wait(0.2)
        return [html]


class Unpicklable:
    """A filter no other process can receive (it holds a lambda)."""

    def __init__(self) -> None:
        self.keep: Any = lambda chunk: True

    def filter_content(self, html: str, /) -> list[str]:
        return [chunk for chunk in [html] if self.keep(chunk)]


class WorkerKiller:
    """Kills any extraction process it runs in, whatever the page; harmless in the crawl
    process itself."""

    def filter_content(self, html: str, /) -> list[str]:
        if multiprocessing.parent_process() is not None:
            os._exit(3)
        return [html]
