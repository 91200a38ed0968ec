"""A TCP proxy in front of a real service that misbehaves on demand, for outage tests.

Modes, switchable while connections come and go:

- ``pass``: bytes flow both ways untouched;
- ``stall``: requests are accepted and read, and nothing is ever answered (a hung upstream);
- ``drop``: the request is forwarded, then the connection is cut after the first bytes of the answer;
- ``refuse``: connections are closed as soon as they are accepted (like a reset);
- ``502`` / ``503``: a proxy's own plain error page, as nginx gives when the upstream is away.

It runs its own event loop in a thread, so a dashboard that blocked its loop could
not hide the fault (the proxy keeps its pace whatever the test does).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Literal

from tests.servers import free_port

Mode = Literal["pass", "stall", "drop", "refuse", "502", "503"]


def _page(status: str) -> bytes:
    body = f"<h1>{status}</h1>".encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


_PAGES = {"502": _page("502 Bad Gateway"), "503": _page("503 Service Unavailable")}


class FaultProxy:
    def __init__(self, upstream_port: int, mode: Mode = "pass") -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._mode: Mode = mode
        self.accepted = 0  # connections seen, whatever the mode
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        """Switch; connections already open are cut, so a client's kept-alive one meets the new mode too."""
        self._mode = mode
        if self._thread.is_alive():  # cut before returning: the next request meets the new mode
            asyncio.run_coroutine_threadsafe(self._cut_all(), self._loop).result(timeout=10)

    async def _cut_all(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FaultProxy":
        self._thread.start()
        assert self._ready.wait(10), "fault proxy did not start"
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        mode = self.mode
        self._open.add(writer)
        try:
            if mode == "refuse":
                return
            if mode == "stall":
                while await reader.read(65536):  # read what comes, answer nothing, until the client gives up
                    pass
                return
            if mode in _PAGES:
                await reader.read(65536)
                writer.write(_PAGES[mode])
                await writer.drain()
                return
            await self._forward(reader, writer, cut=mode == "drop")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    async def _forward(self, reader, writer, *, cut: bool) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pump(src, dst, limit: int | None) -> None:
            sent = 0
            while chunk := await src.read(65536):
                if limit is not None:
                    dst.write(chunk[: max(0, limit - sent)])
                    await dst.drain()
                    return  # the cut: the rest of the answer never arrives
                dst.write(chunk)
                await dst.drain()
                sent += len(chunk)

        upstream = asyncio.ensure_future(pump(reader, up_writer, None))
        try:
            await pump(up_reader, writer, 20 if cut else None)
        finally:
            upstream.cancel()
            up_writer.close()
