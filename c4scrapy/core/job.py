"""What an extraction process runs (``C4_EXTRACT_PROCESSES``): ``serve`` reads pages from
its socket and answers each with its ``extract_page`` result, in order.

Messages both ways are an 8-byte big-endian length and a pickle. A page is ``(body, url,
pickled config, status, Content-Type)``; an answer is ``("ok", (page, stat counts, CPU
seconds since the previous answer, peak RSS KiB))``, ``("error", message)``, or
``("timeout", None)`` for a page over the time limit, after which the process ends. The
config comes pickled on its own and is kept here by its bytes: each one is unpickled once.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import resource
import select
import signal
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from c4scrapy.core.page import extract_page

if TYPE_CHECKING:
    import socket

    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.core.items import PageItem

HEADER = 8
_CONFIGS_KEPT = 32
_configs: dict[bytes, CrawlerRunConfig] = {}


def _extract(
    body: bytes, url: str, config: bytes, status_code: int, content_type: str
) -> tuple[PageItem, dict[str, int]]:
    """(the page, its stat counts); never raises for bad input."""
    counts: Counter[str] = Counter()
    page = extract_page(
        body,
        url,
        _config(config),
        status_code=status_code,
        content_type=content_type,
        counts=counts,
    )
    return page, dict(counts)


def serve(sock: socket.socket, crawl_pid: int, timeout: float = 0.0) -> None:
    """Answer pages until the crawl closes the socket (or ends, however it ends).

    The socket is read and written by two threads of their own, so that the pages the
    crawl has sent are here while its event loop is busy elsewhere (a long callback), and
    an answer the crawl has not read yet does not hold up the next page. A page that runs
    over ``timeout`` seconds (0: no limit) ends the process, after a ``("timeout", None)``
    answer (see ``_Watchdog``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the crawl process
    threading.Thread(target=_exit_with, args=(crawl_pid,), daemon=True).start()
    # Extraction allocates many short-lived containers and no cycles worth collecting
    # often: fewer collections of the young generation save ~5% of a page's time.
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    inbox: queue.SimpleQueue[bytearray | None] = queue.SimpleQueue()
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(sock, inbox), daemon=True).start()
    threading.Thread(target=_send, args=(sock, outbox), daemon=True).start()
    watchdog = _Watchdog(timeout, outbox)
    if timeout:
        threading.Thread(target=watchdog.watch, daemon=True).start()
    mark = time.process_time()
    while (payload := inbox.get()) is not None:
        watchdog.started()
        try:
            page, counts = _extract(*pickle.loads(payload))
            # the CPU since the last answer: reading, extracting and answering
            now = time.process_time()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            answer: tuple[str, Any] = ("ok", (page, counts, now - mark, rss))
            mark = now
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 (MemoryError...: the crawl records it)
            data = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
        if not watchdog.ended():
            threading.Event().wait()  # out of time: the sender ends the process
        outbox.put(_framed(data))


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(HEADER, "big") + data


class _Watchdog:
    """Ends the process once a page has run ``timeout`` seconds, after a ``("timeout",
    None)`` answer for it (sent after the answers before it): the crawl's own timer for a
    page starts when it reads the answer before, which its event loop may do late, so alone
    it would let a page run over by as long as the loop was busy. (It remains for a page
    that holds the GIL: then this thread cannot run.)"""

    def __init__(self, timeout: float, outbox: queue.SimpleQueue[bytes | None]) -> None:
        self.timeout = timeout
        self.outbox = outbox
        self.lock = threading.Condition()
        self.since: float | None = None  # the current page's start (monotonic)
        self.expired = False
        self.idle = False  # waiting for a page, not for a deadline

    def started(self) -> None:
        with self.lock:
            self.since = time.monotonic()
            if self.idle:  # else it wakes at the deadline it waits for, and looks again
                self.lock.notify()

    def ended(self) -> bool:
        """The page is done; False if it had run out of time (its answer is not sent, nor
        any other page started)."""
        with self.lock:
            self.since = None
            return not self.expired

    def watch(self) -> None:
        with self.lock:
            while True:
                if self.since is None:
                    self.idle = True
                    self.lock.wait()
                    self.idle = False
                    continue
                left = self.since + self.timeout - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(min(left, threading.TIMEOUT_MAX))
            self.expired = True
        self.outbox.put(_framed(pickle.dumps(("timeout", None))))
        self.outbox.put(None)  # the sender ends the process once the answer is out


def _receive(sock: socket.socket, inbox: queue.SimpleQueue[bytearray | None]) -> None:
    """Put each page the crawl sends in ``inbox``, then None at the end of the stream."""
    try:
        while (header := _read(sock, HEADER)) is not None:
            payload = _read(sock, int.from_bytes(header, "big"))
            if payload is None:
                break
            inbox.put(payload)
    except OSError:
        pass
    inbox.put(None)


def _send(sock: socket.socket, outbox: queue.SimpleQueue[bytes | None]) -> None:
    """Send the answers in ``outbox`` in order; end the process at None (a page over its
    time) or when the crawl has gone (no answer can reach it any more)."""
    with contextlib.suppress(OSError):
        while (frame := outbox.get()) is not None:
            sock.sendall(frame)
    os._exit(0)


def _read(sock: socket.socket, size: int) -> bytearray | None:
    """Exactly ``size`` bytes, or None at the end of the stream."""
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            return None
        got += n
    return data


def _exit_with(pid: int) -> None:
    """End this process when the crawl process ends: a page that never finishes would
    keep it waiting forever otherwise."""
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3+: look once a second
        while True:
            time.sleep(1)
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):  # gone (or its pid reused)
                os._exit(0)
    select.select([handle], [], [])  # readable once the process has exited
    os._exit(0)


def _config(pickled: bytes) -> CrawlerRunConfig:
    config = _configs.get(pickled)
    if config is None:
        if len(_configs) >= _CONFIGS_KEPT:
            _configs.clear()
        config = _configs[pickled] = pickle.loads(pickled)
    return config
