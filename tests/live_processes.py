"""Sample apps and `watch` as real processes, for tests that drive them over HTTP and stdout.

:class:`App` is one sample-app process (a container), :class:`Watch` a running
``watch --json`` read event by event, :class:`Running` starts both and stops
them at the end of a test.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from tests.harness import free_port
from tests.waiting import DEADLINE

__all__ = ["DEADLINE", "INSPECTOR", "App", "OutputReader", "PortTaken", "Running", "Watch"]

INSPECTOR = [sys.executable, "-m", "inspector"]


class PortTaken(Exception):
    """The app's port was taken between choosing it and binding it."""


class App:
    """A sample-app process: one container."""

    def __init__(self, connection: Sequence[str], name: str, *flags: str) -> None:
        self.name = name
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                *INSPECTOR,
                *connection,
                "sample-app",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--name",
                name,
                *flags,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + DEADLINE
        while True:
            if self.process.poll() is not None:
                assert self.process.stderr is not None
                error = self.process.stderr.read()
                if b"Address already in use" in error:
                    raise PortTaken(error.decode())
                raise AssertionError(f"{self.name} ended: {error!r}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)  # wait-on-condition poll interval

    def request(self, cookie: str | None) -> str:
        """One "Shared Session" request; returns the session cookie to send next."""
        headers = {"Cookie": f"SESSION={cookie}"} if cookie else {}
        url = f"http://127.0.0.1:{self.port}/1"
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            assert r.status == 200
            set_cookie = r.headers.get("Set-Cookie")
        if set_cookie:
            cookie = set_cookie.split("SESSION=", 1)[1].split(";", 1)[0]
        assert cookie is not None
        return cookie

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.communicate(timeout=20)


class OutputReader:
    """A `watch --json` process's two pipes read without blocking: stdout as JSON
    lines, stderr as notices. Shared by the watches the tests start, which differ
    in how they start, stop and which notices count."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.notices: list[str] = []
        self._buffers = {"out": b"", "err": b""}
        self._closed: set[str] = set()

    def _pump(self, deadline: float) -> None:
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        streams = {self.process.stdout.fileno(): "out", self.process.stderr.fileno(): "err"}
        streams = {fd: name for fd, name in streams.items() if name not in self._closed}
        if not streams:
            raise AssertionError(f"watch ended; notices: {self.notices}")
        ready, _, _ = select.select(list(streams), [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"nothing from watch in time; notices: {self.notices}")
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                # One stream's end is not the end of what was said: a watch that
                # stops (after --count, say) closes stderr while its last event may
                # still wait in stdout, and select() reports both at once.
                self._closed.add(streams[fd])
                continue
            self._buffers[streams[fd]] += chunk
        while b"\n" in self._buffers["err"]:
            line, self._buffers["err"] = self._buffers["err"].split(b"\n", 1)
            self.notices.append(line.decode())

    def kill(self) -> None:
        """Kill the process if it still runs, and reap it (a test's teardown: it
        may have been stopped already, or never said a word)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()

    def json_line(self, timeout: float) -> dict[str, object]:
        """The next line of stdout, parsed; fails if none comes within ``timeout``."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffers["out"]:
            if "out" in self._closed:
                raise AssertionError(f"watch ended; notices: {self.notices}")
            self._pump(deadline)
        line, self._buffers["out"] = self._buffers["out"].split(b"\n", 1)
        parsed: dict[str, object] = json.loads(line)
        return parsed


class Watch(OutputReader):
    """A running `watch --json`, read event by event (notices from stderr)."""

    def __init__(self, argv: Sequence[str]) -> None:
        super().__init__(
            subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        )
        self._seen = 0

    def notice(self, needle: str, timeout: float = DEADLINE) -> str:
        """The next notice (after the last one found) holding ``needle``."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(self._seen, len(self.notices)):
                if needle in self.notices[index]:
                    self._seen = index + 1
                    return self.notices[index]
            self._pump(deadline)

    def ready(self) -> None:
        self.notice("attributing requests by connection")
        self.notice("watching")

    def line(self, timeout: float = DEADLINE) -> dict[str, object]:
        return self.json_line(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=20)


class Running:
    """Starts apps and watches; stops them all at the end of the test."""

    def __init__(self) -> None:
        self.apps: list[App] = []
        self.watches: list[Watch] = []

    def app(self, connection: Sequence[str], name: str, *flags: str) -> App:
        for _ in range(5):  # a free port can be taken before the app binds it: try another
            app = App(connection, name, *flags)
            self.apps.append(app)
            try:
                app.wait_ready()
            except PortTaken:
                continue
            return app
        raise AssertionError(f"{name}: no free port after 5 attempts")

    def watch(self, connection: Sequence[str], *flags: str, wrapper: Sequence[str] = ()) -> Watch:
        watch = Watch([*wrapper, *INSPECTOR, *connection, "watch", "--json", *flags])
        self.watches.append(watch)
        return watch

    def stop(self) -> None:
        """Stop what was started: the watches first, while the apps they read still run."""
        for watch in self.watches:
            watch.stop()
        for app in self.apps:
            app.stop()
