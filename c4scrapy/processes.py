"""Pages extracted in worker processes, off the reactor's thread (``C4_EXTRACT_PROCESSES``).

The crawl process downloads, schedules and exports; ``extract_page`` runs in a few
processes forked from a forkserver that has the core imported (started while Scrapy
starts), so a crawl uses more than one core and a slow page never stalls the event loop.
Workers start as pages wait for one, up to ``C4_EXTRACT_PROCESSES`` and while a CPU is
left for one beside this process's own work: a crawl that never keeps one busy runs one.
Each worker has a Unix socket that the crawl's asyncio loop reads and writes like any
connection (no threads in the crawl process). Workers take the pages that wait (up to
``PAGES_PER_WORKER`` each while another may still start), each through a reader thread of
its own, so a worker goes on extracting while the crawl's loop is busy in a long callback;
pages waiting for a worker do not count against ``CONCURRENT_REQUESTS``. A worker that dies
is replaced and its pages are sent again (the page it was on at most once more); a page
over ``C4_EXTRACT_TIMEOUT`` fails and its worker is replaced. See
docs/features/throughput.rst.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from c4scrapy import _meta, machine
from c4scrapy.core import job as worker
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.items import PageItem
from c4scrapy.settings import C4Settings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from multiprocessing.process import BaseProcess

    from scrapy.http import Response
    from scrapy.settings import BaseSettings

    from c4scrapy._runtime import C4Runtime
    from c4scrapy.core.config import CrawlerRunConfig

logger = logging.getLogger(__name__)

#: (the page, its stat counts): a page extracted by a worker.
Extracted = tuple[PageItem, dict[str, int]]
#: Pages a worker holds at once while another worker may still start (see ``_dispatch``).
PAGES_PER_WORKER = 8
#: The most bytes of pages held outside CONCURRENT_REQUESTS while they await a worker.
OUTSIDE_CONCURRENCY_BYTES = 64 * 1024 * 1024
#: A worker is added beside running ones once they have answered this many pages since
#: the last one started, if this much of a CPU would be left (see ``_may_grow``).
MIN_PAGES = 4
CPU_HEADROOM = 0.4
#: A page counts at most this long in that measure: one huge page does not decide.
PAGE_SECONDS_CAP = 0.1


@dataclasses.dataclass(eq=False)
class _Job:
    payload: bytes
    done: asyncio.Future[tuple[str, Any]] = dataclasses.field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    deaths: int = 0  # workers that died while on this page

    def settle(self, outcome: str, value: Any) -> None:
        if not self.done.done():
            self.done.set_result((outcome, value))


def worth_another_worker(running: int, r: float, cpus: int) -> bool:
    """Whether a worker beside ``running`` busy ones adds speed, when the crawl process
    spends ``r`` seconds of CPU per second a worker spends on pages.

    ``running`` busy workers keep ``running * r`` of the crawl process's single core busy;
    one more is worth it while that stays under one core (else the crawl process is what
    limits the crawl) and the workers' cores plus the crawl process's share leave
    ``CPU_HEADROOM`` free. On 2 CPUs a spider whose own callbacks cost about what
    extraction does gets one worker, not two fighting it for the cores; ``scrapy crawl
    site`` on the Python docs gets two."""
    return running * r < 1 and running + running * r + CPU_HEADROOM <= cpus


@dataclasses.dataclass
class _Window:
    """What ``_may_grow`` measures from a worker's start on: the pages answered, the
    seconds the workers spent on them (each counted at most ``PAGE_SECONDS_CAP``), and
    this process's CPU time and the machine's at the start."""

    pages: int = 0
    worker_seconds: float = 0.0
    cpu_then: float = dataclasses.field(default_factory=time.process_time)
    machine_then: machine.CpuSample | None = dataclasses.field(
        default_factory=lambda: machine.cpu_sample()
    )
    held: bool = False  # by the machine's load, since the last worker started

    def answered(self, seconds: float) -> None:
        self.pages += 1
        self.worker_seconds += min(seconds, PAGE_SECONDS_CAP)


class ExtractionProcesses:
    """The crawl's extraction workers (a runtime service), started at ``spider_opened``."""

    def __init__(self, runtime: C4Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        size = settings.extract_processes
        self.cpus = machine.usable_cpus()
        self.size: int = self.cpus if size is None else size
        self.timeout: float = settings.extract_timeout
        self.max_rss_kib: int = settings.extract_max_rss_mib * 1024
        self._workers: list[_Worker] = []
        self._waiting: collections.deque[_Job] = collections.deque()
        self._config: tuple[CrawlerRunConfig, bytes] | None = None
        self._unpicklable_logged = False
        self._closed = False
        self._deaths_in_a_row = 0
        self._starting = False  # a worker is being started
        #: pages awaiting a worker outside CONCURRENT_REQUESTS (see _outside_concurrency)
        self._outside_pages, self._outside_bytes = 0, 0
        self._concurrency = runtime.crawler.settings.getint("CONCURRENT_REQUESTS")
        self._loop: asyncio.AbstractEventLoop | None = None  # the crawl's, from start()
        self._window = _Window()  # since the last worker started, for ``_may_grow``
        if self.size:
            _start_warm_up()
            logger.info(
                "Extracting pages in up to %d worker processes (C4_EXTRACT_PROCESSES)",
                self.size,
            )

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def start(self) -> None:
        """Start the first worker (at spider_opened) without waiting for it; pages that
        come before it wait in the queue."""
        self._loop = asyncio.get_running_loop()
        self._grow()

    async def extract(self, response: Response, config: CrawlerRunConfig) -> Extracted | None:
        """The page ``response`` is, extracted by a worker; None if it must be extracted
        in the crawl process (a config that cannot be pickled, the crawl closing)."""
        if self._closed or not self.enabled:
            return None
        blob = self._pickled(config)
        if blob is None:
            return None
        content_type = _meta.content_type_header(response)
        encoding = getattr(response, "_encoding", None)  # given, not declared: browser pages
        if encoding:
            content_type = f"{content_type.split(';', 1)[0]}; charset={encoding}"
        page = (response.body, response.url, blob, response.status, content_type)
        job = _Job(pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL))
        self._waiting.append(job)
        self._dispatch()
        with self._outside_concurrency(len(response.body)):
            outcome, value = await job.done
        if outcome == "ok":
            page_item, counts, cpu, rss = value
            self._window.answered(page_item.c4.get("extract_seconds", 0.0))
            self.runtime.inc({"extract/in_workers": 1, "extract/worker_cpu_seconds": cpu})
            self.runtime.crawler.stats.max_value("c4/extract/worker_peak_rss_mib", rss // 1024)
            return page_item, counts
        if outcome == "closed":  # the crawl is closing, or no worker could be started
            return None
        failed = PageItem(url=response.url, status_code=response.status, success=False)
        failed.error_message = value
        return failed, {"pages/failed": 1}

    @contextlib.contextmanager
    def _outside_concurrency(self, size: int) -> Iterator[None]:
        """While a page waits for a worker, it holds one of the downloader's
        ``CONCURRENT_REQUESTS`` slots (the downloader middleware is awaiting it); this gives
        the downloader one more for that time, so that extraction does not lower the
        crawl's download concurrency and the workers have pages to go on with while the
        event loop is busy in a long callback. At most ``CONCURRENT_REQUESTS`` pages and
        ``OUTSIDE_CONCURRENCY_BYTES`` of them at once; the engine is woken to use it."""
        engine = self.runtime.crawler.engine
        downloader = engine.downloader if engine is not None else None
        if not (
            downloader is not None
            and downloader.total_concurrency > 0
            and self._outside_pages < self._concurrency
            and self._outside_bytes + size <= OUTSIDE_CONCURRENCY_BYTES
        ):
            yield
            return
        self._outside_pages += 1
        self._outside_bytes += size
        downloader.total_concurrency += 1
        self.runtime.crawler.stats.max_value("c4/extract/outside_concurrency", self._outside_pages)
        # Scrapy has no public call for this; without it, the slot is used when the next
        # download ends
        wake = getattr(getattr(engine, "_slot", None), "nextcall", None)
        if wake is not None:
            wake.schedule()
        try:
            yield
        finally:
            self._outside_pages -= 1
            self._outside_bytes -= size
            downloader.total_concurrency -= 1

    def close(self) -> None:
        self._closed = True
        for job in self._waiting:
            job.settle("closed", None)
        self._waiting.clear()
        for worker_ in list(self._workers):
            worker_.stop(kill=False)
        self._workers.clear()

    # -- the workers -------------------------------------------------------------------

    def _grow(self) -> None:
        """Start one more worker, in a thread: the first start waits for the forkserver to
        import the core (~0.2 s), the others for a fork. If that fails, extraction falls
        back to this process."""
        assert self._loop is not None
        self._starting = True
        self._loop.run_in_executor(None, self._fork).add_done_callback(self._started)

    def _started(self, started: asyncio.Future[tuple[BaseProcess, socket.socket]]) -> None:
        self._starting = False
        self._window = _Window()
        if started.cancelled():  # the loop is closing
            return
        exc = started.exception()
        if exc is not None:
            self._give_up(f"cannot start an extraction process ({type(exc).__name__}: {exc})")
            return
        process, ours = started.result()
        if self._closed or not self.size:
            process.kill()
            ours.close()
            return
        self._workers.append(self._adopt(process, ours))
        running = sum(w.takes_pages for w in self._workers)
        self.runtime.crawler.stats.max_value("c4/extract/processes", running)
        self._dispatch()

    def _give_up(self, why: str) -> None:
        """Extract every page in the crawl process from now on (pages waiting included)."""
        logger.error("%s: pages are extracted in the crawl process from now on", why)
        self.runtime.inc({"extract/given_up": 1})
        self.size = 0
        for job in self._waiting:
            job.settle("closed", None)
        self._waiting.clear()
        for lost in self._workers:
            lost.stop(kill=True)
            for job in lost.jobs:
                job.settle("closed", None)
        self._workers.clear()

    def _fork(self) -> tuple[BaseProcess, socket.socket]:
        """A new worker process and the crawl's end of its socket (any thread)."""
        context = _context()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        process = context.Process(
            target=worker.serve,
            args=(theirs, os.getpid(), self.timeout),
            name="c4scrapy-extract",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return process, ours

    def _adopt(self, process: BaseProcess, ours: socket.socket) -> _Worker:
        """The worker's connection, read and written by the crawl's loop (its thread only);
        pages sent before the loop has made its transport wait in the connection."""
        assert self._loop is not None
        connection = _Worker(self, process)
        ours.setblocking(False)
        made = asyncio.ensure_future(
            self._loop.connect_accepted_socket(lambda: connection, ours), loop=self._loop
        )
        made.add_done_callback(connection.adopted)
        return connection

    def _dispatch(self) -> None:
        """Hand waiting pages to the least busy workers; if pages still wait, start one
        more worker (one at a time, up to ``size``, while a CPU is left for it).

        While another worker may start, a worker holds at most ``PAGES_PER_WORKER`` pages,
        so that the next one has pages to take; once none will, the workers take every page
        that waits: the more a worker holds, the longer it goes on while the crawl's event
        loop is busy in a long callback (a page of thousands of links takes 0.4 s)."""
        if self._closed:
            return
        growing = self._may_grow()
        while self._waiting:
            ready = [
                w
                for w in self._workers
                if w.takes_pages and (growing is False or len(w.jobs) < PAGES_PER_WORKER)
            ]
            if not ready:
                break
            min(ready, key=lambda w: len(w.jobs)).send(self._waiting.popleft())
        if self._waiting and growing and not self._starting:
            self._grow()

    def _may_grow(self) -> bool | None:
        """Whether one more worker would add to the crawl's speed (None: not known yet, or
        not while the machine is this busy):
        ``worth_another_worker`` with ``r`` measured since the last worker started, over at
        least ``MIN_PAGES`` answers, and the machine's CPUs left ``CPU_HEADROOM`` idle
        meanwhile (other crawls, other programs: this crawl's own share is not all there
        is)."""
        running = sum(w.takes_pages for w in self._workers)
        if self._loop is None or running >= self.size:
            return False
        if running == 0:
            return True
        window = self._window
        if window.pages < MIN_PAGES:
            return None
        r = (time.process_time() - window.cpu_then) / max(window.worker_seconds, 1e-9)
        if not worth_another_worker(running, r, self.cpus):
            return False
        idle = machine.idle_cpus(window.machine_then, machine.cpu_sample(), self.cpus)
        if idle is None or idle >= CPU_HEADROOM:
            return True
        if not window.held:
            self.runtime.inc({"extract/held_by_load": 1})
            logger.info(
                "Not starting another extraction process: %.1f of %d CPUs were idle while "
                "the last %d pages were extracted (other processes are using the rest)",
                idle,
                self.cpus,
                window.pages,
            )
        # Not now: ask again over the next pages, about the machine's load from now on (and
        # read /proc/stat once a window, not at every page).
        self._window = _Window(held=True)
        return None

    def _lost(self, lost: _Worker, reason: str | None) -> None:
        """A worker is gone: ``reason`` says why its current page failed (None: it died,
        and that page is tried once more); its other pages go to the other workers."""
        if lost in self._workers:
            self._workers.remove(lost)
        if self._closed:
            for job in lost.jobs:
                job.settle("closed", None)
            return
        jobs = list(lost.jobs)
        lost.jobs.clear()
        if jobs and reason is None:
            jobs[0].deaths += 1
            if jobs[0].deaths >= 2:
                jobs[0].settle("failed", "its extraction process died twice")
                jobs = jobs[1:]
        elif jobs:
            jobs[0].settle("failed", reason)
            jobs = jobs[1:]
        if reason is None:
            self.runtime.inc({"extract/worker_crashes": 1})
            self._deaths_in_a_row += 1
            if self._deaths_in_a_row > 2 * self.size + 2:  # they die whatever the page
                self._waiting.extendleft(reversed(jobs))
                self._give_up(f"{self._deaths_in_a_row} extraction processes died in a row")
                return
            logger.warning("An extraction process died; its pages go to another one")
        self.runtime.inc({"extract/retries": len(jobs)})
        self._waiting.extendleft(reversed(jobs))
        self._dispatch()

    def _retire(self, heavy: _Worker) -> None:
        """``heavy`` has grown over ``C4_EXTRACT_MAX_RSS_MIB``: it finishes the pages it
        holds and ends; a new one starts as pages wait."""
        heavy.retiring = True
        self.runtime.inc({"extract/recycled": 1})
        self._dispatch()

    def _retired(self, done: _Worker) -> None:
        if done in self._workers:
            self._workers.remove(done)
        done.stop(kill=False)

    def _timed_out(self, stuck: _Worker) -> None:
        self.runtime.inc({"extract/timeouts": 1})
        message = f"extraction stopped after {self.timeout:g} s (C4_EXTRACT_TIMEOUT)"
        stuck.stop(kill=True)
        self._lost(stuck, message)

    # -- configs -------------------------------------------------------------------------

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


def _context() -> Any:
    """The multiprocessing context workers start from: a forkserver that has imported the
    core (so a worker starts in milliseconds), or spawn where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([worker.__name__])
    return context


def _warm_up() -> None:
    """Start the forkserver (it imports the core: ~0.2 s) while Scrapy starts the crawl,
    so that the first worker is ready when the first page is; a failure is reported by the
    first worker's start."""
    if _context().get_start_method() == "forkserver":
        with contextlib.suppress(Exception):
            multiprocessing.forkserver.ensure_running()


def _start_warm_up() -> None:
    threading.Thread(target=_warm_up, name="c4scrapy-warm-up", daemon=True).start()


def warm_up_early(settings: BaseSettings) -> None:
    """``_warm_up`` from the add-on's ``update_settings``, ~0.2 s before the middleware
    would: without it the first pages of a fast site waited that long for the first worker.
    Settings that turn the workers off (or that are invalid, which the runtime reports) start
    nothing."""
    try:
        c4 = C4Settings.from_settings(settings)
    except ConfigError:
        return
    if c4.enabled and c4.extract_processes != 0:
        _start_warm_up()


class _Worker(asyncio.Protocol):
    """The crawl's end of one worker's socket: pages out, answers in, in order."""

    def __init__(self, pool: ExtractionProcesses, process: BaseProcess) -> None:
        self.pool = pool
        self.process = process
        self.jobs: collections.deque[_Job] = collections.deque()
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.unsent: list[bytes] = []  # written before the transport was made
        self.timer: asyncio.TimerHandle | None = None
        self.gone = False  # stopped by the pool, or its connection lost
        self.retiring = False  # too big: no new pages, ends once it has answered its own

    @property
    def takes_pages(self) -> bool:
        return not (self.gone or self.retiring)

    def adopted(self, made: asyncio.Future[Any]) -> None:
        """The loop could not take the socket: the worker is lost like a dead one."""
        if not made.cancelled() and made.exception() is not None:
            self.connection_lost(made.exception())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.gone:
            transport.close()
            return
        if self.unsent:
            transport.writelines(self.unsent)
            self.unsent.clear()

    def send(self, job: _Job) -> None:
        self.jobs.append(job)
        message = [len(job.payload).to_bytes(worker.HEADER, "big"), job.payload]
        if self.transport is None:
            self.unsent += message
        else:
            self.transport.writelines(message)
        if len(self.jobs) == 1:
            self._start_timer()

    def data_received(self, data: bytes) -> None:
        if self.gone:  # stopped (timed out): its pages have been settled already
            return
        self.buffer += data
        while not self.gone and len(self.buffer) >= worker.HEADER:
            size = int.from_bytes(self.buffer[: worker.HEADER], "big")
            if len(self.buffer) < worker.HEADER + size:
                return
            answer = pickle.loads(self.buffer[worker.HEADER : worker.HEADER + size])
            del self.buffer[: worker.HEADER + size]
            self._answered(answer)

    def _answered(self, answer: tuple[str, Any]) -> None:
        self._cancel_timer()
        outcome, value = answer
        if outcome == "timeout":  # the worker stopped its page at the limit, and ends
            self.pool._timed_out(self)
            return
        self.pool._deaths_in_a_row = 0
        if outcome == "ok":
            self.jobs.popleft().settle("ok", value)
        else:  # the worker could not run or answer this page (MemoryError...)
            self.jobs.popleft().settle("failed", f"extraction failed: {value}")
        if self.jobs:
            self._start_timer()
        pool = self.pool
        too_big = outcome == "ok" and pool.max_rss_kib and value[3] > pool.max_rss_kib
        if too_big and not self.retiring:
            pool._retire(self)
        if self.retiring and not self.jobs:
            pool._retired(self)
        pool._dispatch()

    def _start_timer(self) -> None:
        loop = self.pool._loop
        if self.pool.timeout and loop is not None:
            self.timer = loop.call_later(self.pool.timeout, self._timed_out)

    def _timed_out(self) -> None:
        self.timer = None
        self.pool._timed_out(self)

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def stop(self, kill: bool) -> None:
        self.gone = True
        self._cancel_timer()
        if kill:
            self.process.kill()
        if self.transport is not None:
            self.transport.close()  # a live worker reads the end and exits

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.gone:
            self.gone = True
            self._cancel_timer()
            self.pool._lost(self, None)
