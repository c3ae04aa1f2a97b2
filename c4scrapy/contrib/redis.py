"""Several ``scrapy crawl`` processes on one crawl: scrapy-redis' scheduler with a shared
``max_pages`` budget and a clean end. See docs/usage/deploy.rst."""

from __future__ import annotations

import logging
import os
import pickle
import socket
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.settings import default_settings
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object

try:
    from redis.exceptions import RedisError
    from scrapy_redis.scheduler import Scheduler
    from scrapy_redis.spiders import RedisMixin
except ImportError as exc:  # an optional dependency
    raise ImportError(
        "c4scrapy.contrib.redis needs scrapy-redis: pip install 'c4scrapy[redis]'"
    ) from exc

from c4scrapy._runtime import C4Runtime

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.core.engine import ExecutionEngine
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Scrapy's default dupefilter is replaced by this one: fingerprints must be shared too.
SHARED_DUPEFILTER = "scrapy_redis.dupefilter.RFPDupeFilter"

_TICK = 0.2  # seconds between heartbeats; also how fast an idle worker notices new requests
_WORKER_TTL = 60.0  # seconds without a heartbeat after which a worker counts as gone

# Atomically: is KEYS[1] new, and is the budget ARGV[2] (-1: none) not yet spent?
_ADMIT_SCRIPT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
local limit = tonumber(ARGV[2])
if limit >= 0 and redis.call('SCARD', KEYS[1]) >= limit then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
"""

_SERIALIZATION_ERRORS = (ValueError, TypeError, AttributeError, pickle.PicklingError)


class RedisScheduler(Scheduler):
    """scrapy-redis' scheduler for several cooperating ``scrapy crawl`` processes.

    See the module docstring; settings are scrapy-redis' plus ``C4_REDIS_IDLE_TIMEOUT``.
    """

    df: Any  # scrapy-redis' duplicate filter (set in open)

    crawler: Crawler
    spider: Spider

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        dupefilter = settings.get("DUPEFILTER_CLASS")
        if dupefilter == default_settings.DUPEFILTER_CLASS:
            settings = settings.copy()  # frozen, like the crawler's
            settings.frozen = False
            settings.set("DUPEFILTER_CLASS", SHARED_DUPEFILTER)
        elif not hasattr(load_object(dupefilter), "from_spider"):
            raise ValueError(
                f"DUPEFILTER_CLASS {dupefilter!r} keeps its fingerprints in this process;"
                f" a shared frontier needs them in Redis: use {SHARED_DUPEFILTER!r}"
            )
        scheduler = cls.from_settings(settings)
        scheduler.stats = crawler.stats
        scheduler._attach(crawler)
        return scheduler

    def _attach(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.idle_timeout = C4Runtime.of(crawler).settings.redis_idle_timeout
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._claimed: deque[Request] = deque()  # taken from Redis by _claim, not started yet
        self._memory: deque[Request] = deque()  # unserializable: only this worker has them
        self._closing = False
        self._handover: Request | None = None
        self._published_busy = False
        self._quiet_since: float | None = None
        self._unserializable_logged = False
        self._redis_down = False
        self._ticker: Any = None
        crawler.signals.connect(self._on_spider_idle, signal=signals.spider_idle)

    # -- the scheduler interface ----------------------------------------------------------

    def open(self, spider: Spider) -> None:
        self.spider = spider
        # A RedisSpider waits for start URLs pushed to its key, and closes on its own terms.
        self._spider_decides_end = isinstance(spider, RedisMixin)
        self.queue = load_object(self.queue_cls)(
            server=self.server,
            spider=spider,
            key=self.queue_key % {"spider": spider.name},
            serializer=self.serializer,
        )
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        self.workers_key = f"{self.queue.key}:workers"
        self.busy_key = f"{self.queue.key}:busy"
        self.admitted_key = f"{self.queue.key}:admitted"
        self._admit_script = self.server.register_script(_ADMIT_SCRIPT)
        others = self._live_workers()
        self.server.zadd(self.workers_key, {self.worker_id: time.time()})
        if self.flush_on_start:
            if others:
                logger.warning(
                    "SCHEDULER_FLUSH_ON_START ignored: %d other worker(s) are crawling", others
                )
            else:
                self.flush()
        queued = len(self.queue)
        logger.info(
            "Shared frontier %r in Redis: %d request(s) queued, %d other worker(s) live",
            self.queue.key,
            queued,
            others,
        )
        seen_key = getattr(self.df, "key", None)
        if not queued and not others and seen_key and self.server.exists(seen_key):
            logger.warning(
                "The dupefilter %r still holds %d fingerprints from an earlier run, so those"
                " URLs will not be crawled again; delete the crawl's keys to start afresh"
                " (redis-cli --scan --pattern '%s:*' | xargs redis-cli del)",
                seen_key,
                self.server.scard(seen_key),
                spider.name,
            )
        self._ticker = create_looping_call(self._tick)
        self._ticker.start(_TICK, now=False)

    def close(self, reason: str) -> None:
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        self.server.zrem(self.busy_key, self.worker_id)
        self.server.zrem(self.workers_key, self.worker_id)
        self._inc("c4/redis/lost_on_close", len(self._memory))
        others = self._live_workers()
        if not self.persist and not others:
            self.flush()
            logger.info("Last worker out (%s): shared frontier deleted", reason)
            return
        returned = len(self._claimed)
        for request in self._claimed:
            self.queue.push(request)
        self._inc("c4/redis/returned_on_close", returned)
        logger.info(
            "Leaving the shared crawl (%s): %d request(s) queued, %d other worker(s) live,"
            " %d request(s) handed back",
            reason,
            len(self.queue),
            others,
            returned,
        )

    def flush(self) -> None:
        super().flush()
        self.server.delete(self.admitted_key, self.busy_key, self.workers_key)

    def has_pending_requests(self) -> bool:
        return bool(self._claimed or self._memory) or len(self.queue) > 0

    def enqueue_request(self, request: Request) -> bool:
        if request is self._handover:
            self._claimed.append(request)
            return True
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        try:
            self.queue.push(request)
        except _SERIALIZATION_ERRORS as exc:
            self._keep_in_memory(request, exc)
            return True
        self._inc("scheduler/enqueued/redis")
        self._inc("scheduler/enqueued")
        return True

    def next_request(self) -> Request | None:
        if self._memory:
            self._inc("scheduler/dequeued/memory")
            self._inc("scheduler/dequeued")
            return self._memory.popleft()
        if self._claimed:
            request = self._claimed.popleft()
        else:
            request = self.queue.pop()  # never a blocking pop: it would freeze the reactor
            if request is None:
                return None
            if not self._published_busy:
                self._mark_busy()
        self._inc("scheduler/dequeued/redis")
        self._inc("scheduler/dequeued")
        return request

    # -- the site spider's page budget ------------------------------------------------------

    def admit(self, key: str, limit: int | None) -> bool:
        """True once per key for the whole crawl, while fewer than ``limit`` were admitted."""
        admitted = self._admit_script(
            keys=[self.admitted_key], args=[key, -1 if limit is None else limit]
        )
        return bool(admitted)

    # -- cooperation between workers --------------------------------------------------------

    def _tick(self) -> None:
        engine = self.crawler.engine
        if engine is None or not engine.running or self._closing:
            return
        try:
            self._cooperate(engine)
        except RedisError as exc:  # keep ticking: an exception would stop the looping call
            self._quiet_since = None
            if not self._redis_down:
                self._redis_down = True
                logger.warning("Redis unreachable (%s); retrying every %s s", exc, _TICK)
            return
        if self._redis_down:
            self._redis_down = False
            logger.info("Redis reachable again")

    def _cooperate(self, engine: ExecutionEngine) -> None:
        """Publish this worker's heartbeat, wake it for queued work, end the crawl when done."""
        busy = not engine.spider_is_idle()
        now = time.time()
        pipe = self.server.pipeline(transaction=False)
        pipe.zadd(self.workers_key, {self.worker_id: now})
        if busy:
            pipe.zadd(self.busy_key, {self.worker_id: now})
        else:
            pipe.zrem(self.busy_key, self.worker_id)
        pipe.zrangebyscore(self.busy_key, now - _WORKER_TTL, "+inf")
        pipe.exists(self.queue.key)
        *_, busy_workers, queued = pipe.execute()
        self._published_busy = busy
        if queued and not engine.needs_backout():
            self._claim()
        others_busy = any(member.decode() != self.worker_id for member in busy_workers)
        if busy or queued or others_busy or self._spider_decides_end:
            self._quiet_since = None
            return
        if self._quiet_since is None:
            self._quiet_since = time.monotonic()
        if self._finished():
            self._closing = True
            deferred_from_coro(engine.close_spider_async(reason="finished"))

    def _claim(self) -> None:
        """Take one shared request and hand it to the engine, which wakes it up at once."""
        request = self.queue.pop()
        if request is None:
            return
        self._mark_busy()
        self._handover = request
        try:
            self.crawler.engine.crawl(request)
        finally:
            self._handover = None

    def _on_spider_idle(self) -> None:
        if not self._finished() and not self._spider_decides_end:
            raise DontCloseSpider

    def _finished(self) -> bool:
        return (
            self._quiet_since is not None
            and time.monotonic() - self._quiet_since >= self.idle_timeout
        )

    def _mark_busy(self) -> None:
        """At once, not at the next tick: the queue may have just become empty."""
        self.server.zadd(self.busy_key, {self.worker_id: time.time()})
        self._published_busy = True

    def _live_workers(self) -> int:
        """Other workers with a recent heartbeat."""
        members = self.server.zrangebyscore(self.workers_key, time.time() - _WORKER_TTL, "+inf")
        return sum(1 for member in members if member.decode() != self.worker_id)

    def _keep_in_memory(self, request: Request, exc: Exception) -> None:
        self._memory.append(request)
        self._inc("scheduler/unserializable")
        self._inc("scheduler/enqueued/memory")
        self._inc("scheduler/enqueued")
        if not self._unserializable_logged:
            self._unserializable_logged = True
            logger.warning(
                "Cannot share %(request)s through Redis (%(reason)s): this worker crawls it"
                " itself; further ones are counted in scheduler/unserializable",
                {"request": request, "reason": exc},
            )

    def _inc(self, key: str, value: int = 1) -> None:
        if self.stats is not None and value:
            self.stats.inc_value(key, value)
