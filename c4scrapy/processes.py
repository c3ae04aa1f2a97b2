"""Pages extracted in worker processes, off the reactor's thread (``C4_EXTRACT_PROCESSES``).

The crawl process downloads, schedules and exports; ``extract_page`` runs in a few
processes forked from a forkserver that has the core imported, so a crawl uses more than
one core and a slow page never stalls the reactor. A worker that dies is replaced and its
pages are tried once more; a page over ``C4_EXTRACT_TIMEOUT`` has its worker killed and
ends as a failed item. See docs/features/throughput.rst.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import select
import signal
import threading
import time
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer

from c4scrapy.core.items import PageItem
from c4scrapy.core.job import extract_job

if TYPE_CHECKING:
    from scrapy.http import Response

    from c4scrapy._runtime import C4Runtime
    from c4scrapy.core.config import CrawlerRunConfig

logger = logging.getLogger(__name__)

#: (the page, its stat counts): a page extracted by a worker.
Extracted = tuple[PageItem, dict[str, int]]


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _worker_init(crawl_pid: int) -> None:
    # Ctrl-C is for the crawl process, which stops its workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_with, args=(crawl_pid,), name="c4-exit-with", daemon=True
    ).start()


def _exit_with(pid: int) -> None:
    """End this worker when the crawl process ends, however it ends: a worker of a killed
    crawl would wait forever otherwise (it holds its own task queue's write end)."""
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3+: look once a second
        while True:
            time.sleep(1)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid has been reused by another user's process
                os._exit(0)
    select.select([handle], [], [])  # readable once the process has exited
    os._exit(0)


class ExtractionProcesses:
    """The crawl's extraction workers (a runtime service), started on first use."""

    def __init__(self, runtime: C4Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        size = settings.extract_processes
        self.size: int = usable_cpus() if size is None else size
        self.timeout: float = settings.extract_timeout
        self._executor: ProcessPoolExecutor | None = None
        self._config: tuple[CrawlerRunConfig, bytes] | None = None
        self._unpicklable_logged = False
        if self.size:
            runtime.crawler.stats.set_value("c4/extract/processes", self.size)
            logger.info(
                "Extracting pages in %d worker processes (C4_EXTRACT_PROCESSES)", self.size
            )

    @property
    def enabled(self) -> bool:
        return self.size > 0

    async def extract(self, response: Response, config: CrawlerRunConfig) -> Extracted | None:
        """The page ``response`` is, extracted by a worker; None if it must be extracted
        in the crawl process (a config that cannot be pickled, the crawl stopping)."""
        blob = self._pickled(config)
        if blob is None:
            return None
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        encoding = getattr(response, "_encoding", None)  # given, not declared: browser pages
        if encoding:
            content_type = f"{content_type.split(';', 1)[0]}; charset={encoding}"
        job = (response.body, response.url, blob, response.status, content_type)
        for attempt in (1, 2):
            executor = self._running()
            try:
                page, counts, cpu, rss = await self._result(executor.submit(extract_job, *job))
            except BrokenProcessPool:  # a worker died: this page's, or another one's
                self._replace(executor)
                if attempt == 1:
                    self.runtime.inc({"extract/retries": 1})
                    continue
                return self._failed(response, "its extraction process died twice")
            except defer.TimeoutError:
                self._replace(executor, kill=True)
                self.runtime.inc({"extract/timeouts": 1})
                return self._failed(
                    response,
                    f"extraction stopped after {self.timeout:g} s (C4_EXTRACT_TIMEOUT)",
                )
            except (CancelledError, RuntimeError):  # shut down: the crawl is closing
                return None
            except Exception as exc:  # noqa: BLE001 (MemoryError in the worker...: the item says it)
                return self._failed(response, f"extraction failed: {type(exc).__name__}: {exc}")
            self.runtime.inc({"extract/in_workers": 1, "extract/worker_cpu_seconds": cpu})
            self.runtime.crawler.stats.max_value("c4/extract/worker_peak_rss_mib", rss // 1024)
            return page, counts
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    # -- internals -----------------------------------------------------------------------

    def _pickled(self, config: CrawlerRunConfig) -> bytes | None:
        if self._config is not None and self._config[0] is config:
            return self._config[1]
        try:
            blob = pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 (a lambda, a lock...: pickle raises many kinds)
            self.runtime.inc({"extract/inline_unpicklable": 1})
            if not self._unpicklable_logged:
                self._unpicklable_logged = True
                logger.warning(
                    "A page's config cannot be sent to an extraction process (%s: %s); "
                    "such pages are extracted in the crawl process (further ones counted "
                    "in c4/extract/inline_unpicklable, not logged)",
                    type(exc).__name__,
                    exc,
                )
            return None
        self._config = (config, blob)
        return blob

    def start(self) -> None:
        """Start the workers now (at spider_opened), not on the first page."""
        executor = self._running()
        for _ in range(self.size):
            executor.submit(os.getpid)

    def _running(self) -> ProcessPoolExecutor:
        if self._executor is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn"
            )
            if "forkserver" in methods:
                context.set_forkserver_preload(["c4scrapy.core.job"])
            self._executor = ProcessPoolExecutor(
                self.size, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
            )
        return self._executor

    def _replace(self, executor: ProcessPoolExecutor, kill: bool = False) -> None:
        """Drop a broken (or stuck) executor; the next page starts a new one."""
        if executor is not self._executor:
            return  # another page has replaced it already
        self._executor = None
        if kill:
            # ProcessPoolExecutor cannot stop one task: its processes are stopped instead,
            # which breaks it, and the other pages it held go to the next one
            for process in list((getattr(executor, "_processes", None) or {}).values()):
                process.kill()
        else:
            self.runtime.inc({"extract/worker_crashes": 1})
            logger.warning("An extraction process died; starting new ones")
        executor.shutdown(wait=False)

    async def _result(self, future: Future[Any]) -> Any:
        """The future's result, awaited on the reactor, or TimeoutError after the timeout."""
        from twisted.internet import reactor  # the one Scrapy has installed by now

        waiter: defer.Deferred[None] = defer.Deferred()

        def fire() -> None:
            if not waiter.called:  # not timed out
                waiter.callback(None)

        def done(_: Future[Any]) -> None:
            reactor.callFromThread(fire)

        future.add_done_callback(done)
        if self.timeout:
            waiter.addTimeout(self.timeout, reactor)
        await maybe_deferred_to_future(waiter)
        return future.result()

    def _failed(self, response: Response, message: str) -> Extracted:
        page = PageItem(url=response.url, status_code=response.status, success=False)
        page.error_message = message
        return page, {"pages/failed": 1}
