"""The live-feed server: the waiting part of `/sync/<db>/_changes` on an event loop.

A device in live sync keeps a `_changes?feed=longpoll` open all day. In the gateway's
gunicorn workers each waiting feed sleeps in a request thread; here a waiting feed is
a coroutine, so one process holds thousands of them with a handful of threads. The
reverse proxy sends `_changes` requests with `feed=longpoll`, `continuous` or
`eventsource` here (deploy/nginx-sopu.conf) and everything else to gunicorn.

The work itself is the gateway's, unchanged: authenticating the device, running the
feed and writing its cursor happen in a small thread pool (`WORK_THREADS`) through the
same `Site` and `Gateway` as in gunicorn; only the waiting is evented. What wakes a
feed is the same as there (`server.gateway.live_feeds`): the process's watcher finds
what changed in the shared directory (at once on PostgreSQL through LISTEN/NOTIFY,
every 0.25 s otherwise) and wakes exactly the feeds it concerns. Answers have CouchDB's
shapes and the gateway's error codes; a revoked device's feed ends at once with the
wipe answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from sync.store import StoreError

from ..config import Config
from ..errors import DomainError, NotFoundError, Unauthenticated
from ..gateway.gateway import Gateway
from ..gateway.live_feeds import STREAM_TYPES, FeedWatcher, LiveFeeds, row_line, wipe_line
from ..http_errors import STATUS, STORE_FAULTS, error_body
from ..people.tokens import DeviceTokens
from ..site import Site
from ..web import sync_input

log = logging.getLogger(__name__)

WORK_THREADS = 8  # directory and store work of all the feeds of this process
SITE, GATEWAY, FEEDS, TOKENS, POOL = (
    web.AppKey(name) for name in ("site", "gateway", "feeds", "tokens", "pool")
)


def build_app(config: Config, site: Site, live_feeds: int) -> web.Application:
    """The live-feed server's app on `site` (the caller owns and closes the site)."""
    app = web.Application()
    app[SITE], app[GATEWAY] = site, Gateway(site)
    app[FEEDS] = LiveFeeds(live_feeds)
    app[TOKENS] = DeviceTokens(site.directory, site.devices, config.device_token_ttl)
    app[POOL] = ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="sopu-live")
    watcher = FeedWatcher(site.directory, app[FEEDS])
    app.on_startup.append(lambda _app: _start(watcher))
    app.on_cleanup.append(lambda _app: _stop(app))
    app.router.add_get("/healthz", healthz)
    app.router.add_route("GET", "/sync/{db}/_changes", changes)
    app.router.add_route("POST", "/sync/{db}/_changes", changes)
    return app


async def _start(watcher: FeedWatcher) -> None:
    watcher.ensure_running()


async def _stop(app: web.Application) -> None:
    app[POOL].shutdown(wait=False, cancel_futures=True)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "feeds": request.app[FEEDS].open})


async def changes(request: web.Request) -> web.StreamResponse:
    app = request.app
    try:
        options = sync_input.changes_options(request.query)
        current = await _work(request, _device, request)
        first = await _work(request, app[GATEWAY].changes, current, **options.gateway_options())
    except (DomainError, StoreError) as exc:
        return _error(exc)
    if options.feed == "normal" or (options.feed == "longpoll" and first["results"]):
        return web.json_response(first, dumps=_dumps)
    return await _wait(request, current, options, first)


def _device(request: web.Request) -> dict:
    """The device of the bearer token, on its own worker's database (as gunicorn's
    `sync._own`)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a device needs `Authorization: Bearer <access token>`")
    current = request.app[TOKENS].device_for(token.strip())
    if request.match_info["db"] != current["worker_id"]:
        raise NotFoundError("Database does not exist.")
    request.app[SITE].devices.mark_synced(current)
    return current


async def _wait(request, current: dict, options, first: dict) -> web.StreamResponse:
    app, loop = request.app, asyncio.get_running_loop()
    woken = asyncio.Event()
    before = await _work(request, app[GATEWAY].heads.current)
    holding = app[FEEDS].hold(
        current["id"],
        await _work(request, app[GATEWAY].assigned, current),
        on_wake=lambda: loop.call_soon_threadsafe(woken.set),
    )
    try:
        waiting = holding.__enter__()
    except DomainError as exc:
        return _error(exc)
    try:
        if await _work(request, app[GATEWAY].heads.current) != before:
            woken.set()  # a write landed before the watcher knew this feed
        feed = _Feed(request, current, options, waiting, woken, first)
        return await feed.stream()
    finally:
        holding.__exit__(None, None, None)


class _Feed:
    """One waiting feed on the event loop (the coroutine twin of `web.sync._Wait`)."""

    def __init__(self, request, current, options, waiting, woken, first):
        self.request, self.current, self.waiting, self.woken = request, current, waiting, woken
        self.feed, self.result = options.feed, first
        self.options = options.gateway_options()
        self.deadline = time.monotonic() + options.timeout_ms / 1000
        self.heartbeat = options.heartbeat_ms / 1000 if options.heartbeat_ms else None
        self.response = web.StreamResponse(
            headers={"Content-Type": STREAM_TYPES.get(self.feed, "application/json")}
        )

    async def stream(self) -> web.StreamResponse:
        await self.response.prepare(self.request)
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            await self._until_done()
        return self.response

    async def _until_done(self) -> None:
        beat = time.monotonic()
        if self.feed != "longpoll":
            await self._rows()
        while (left := self.deadline - time.monotonic()) > 0:
            if self.heartbeat:
                left = min(left, max(self.heartbeat - (time.monotonic() - beat), 0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), left)
            if self.woken.is_set():
                self.woken.clear()
                if self.waiting.superseded:
                    break
                if await self._revoked():
                    await self._send(wipe_line())
                    return
                self.result = await _work(
                    self.request, self.request.app[GATEWAY].changes, self.current, **self.options
                )
                if self.feed != "longpoll":
                    await self._rows()
                elif self.result["results"]:
                    break
            if self.heartbeat and time.monotonic() - beat >= self.heartbeat:
                beat = time.monotonic()
                await self._send("\n")
        await self._send(_dumps(self._last()) + "\n")

    async def _revoked(self) -> bool:
        device = await _work(self.request, self.request.app[SITE].devices.get, self.current["id"])
        return device["revoked_at"] is not None

    async def _rows(self) -> None:
        for row in self.result["results"]:
            await self._send(row_line(self.feed, row))
        self.options["since"] = self.result["last_seq"]
        self.result = {"results": [], "last_seq": self.result["last_seq"]}

    def _last(self) -> dict:
        return self.result if self.feed == "longpoll" else {"last_seq": self.options["since"]}

    async def _send(self, text: str) -> None:
        await self.response.write(text.encode())


async def _work(request: web.Request, function, *args, **kwargs):
    """Run directory and store work in the process's small thread pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[POOL], lambda: function(*args, **kwargs))


def _error(exc: Exception) -> web.Response:
    """The gateway's answers for its errors (server/http_errors.py), as JSON."""
    if isinstance(exc, DomainError):
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": 'Bearer realm="sopu"'} if status == 401 else {}
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
        body = error_body(exc.code, exc.message, **exc.details)
        return web.json_response(body, status=status, headers=headers, dumps=_dumps)
    fault = next((f for cls, f in STORE_FAULTS.items() if isinstance(exc, cls)), None)
    if fault is not None:
        code, status, retry_after, reason = fault
        headers = {"Retry-After": str(retry_after)}
        return web.json_response(error_body(code, reason), status=status, headers=headers)
    return web.json_response(error_body(exc.error, exc.reason), status=exc.status)


def _dumps(value: object) -> str:
    return json.dumps(value, allow_nan=False)
