"""What an extraction process runs (``C4_EXTRACT_PROCESSES``): ``serve`` reads pages from
its socket and answers each with its ``extract_page`` result, in order.

Messages both ways are an 8-byte big-endian length and a pickle. A page is ``(body, url,
pickled config, status, Content-Type)``; an answer is ``("ok", (page, stat counts, CPU
seconds since the previous answer, peak RSS KiB))`` or ``("error", message)``. The config
comes pickled on its own and is kept here by its bytes: each one is unpickled once.
"""

from __future__ import annotations

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


def serve(sock: socket.socket, crawl_pid: int) -> None:
    """Answer pages until the crawl closes the socket (or ends, however it ends).

    The socket is read and written by two threads of their own, so that the pages the
    crawl has sent are here while its event loop is busy elsewhere (a long callback), and
    an answer the crawl has not read yet does not hold up the next page."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the crawl process
    threading.Thread(target=_exit_with, args=(crawl_pid,), daemon=True).start()
    # Extraction allocates many short-lived containers and no cycles worth collecting
    # often: fewer collections of the young generation save ~5% of a page's time.
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    inbox: queue.SimpleQueue[bytearray | None] = queue.SimpleQueue()
    outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(sock, inbox), daemon=True).start()
    threading.Thread(target=_send, args=(sock, outbox), daemon=True).start()
    mark = time.process_time()
    while (payload := inbox.get()) is not None:
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
        outbox.put(len(data).to_bytes(HEADER, "big") + data)


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


def _send(sock: socket.socket, outbox: queue.SimpleQueue[bytes]) -> None:
    """Send the answers in ``outbox`` in order; stop when the crawl has gone."""
    try:
        while True:
            sock.sendall(outbox.get())
    except OSError:
        return


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
