"""Per-container figures: requests per second, sessions served, and each session's path.

Fed with :class:`~inspector.core.attribution.AttributedRequest` s from
whichever attribution is active (host attribute or connection), so ``watch
--summary`` and the TUI's Live view show the same figures. A session's path is
its sequence of containers, consecutive repeats folded (``container-1 x3 ->
container-2 x1``): a sticky load balancer gives one step, a round-robin one a
step per request, which is what the article's test looks at.

Bounded: at most ``max_sessions`` sessions and ``path_length`` steps each
(least recently seen sessions are forgotten first). Pure: times come in with
the events (and the caller's ``now_ms``), never from a clock.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from inspector.core.attribution import AttributedRequest, NameSource
from inspector.core.changes import EventKind
from inspector.core.values import JsonValue

__all__ = ["ContainerFigures", "ContainerStats", "PathStep", "StatsSummary"]


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of a session's path: a container and how many requests in a row it served."""

    container: str
    requests: int


@dataclass(frozen=True, slots=True)
class ContainerFigures:
    """One container's figures."""

    name: str
    source: NameSource
    requests: int
    """Requests since the figures started."""
    per_second: float
    """Requests per second over the last ``window`` seconds."""
    sessions: int
    """Distinct sessions it served (among those still remembered)."""
    last_seen_ms: int


@dataclass(frozen=True, slots=True)
class StatsSummary:
    """Everything :class:`ContainerStats` knows, at one moment."""

    time_ms: int
    window_s: int
    containers: tuple[ContainerFigures, ...]
    """Busiest first."""
    requests: int
    unattributed: int
    """Requests nothing named a container for."""
    sessions: int
    """Sessions remembered."""
    switched: int
    """Sessions served by more than one container in a row (not sticky)."""
    switches: int
    """Container changes between consecutive requests of a session, in all."""
    paths: tuple[tuple[str, tuple[PathStep, ...]], ...] = ()
    """The most recently seen sessions (key, path), newest first."""

    def to_json(self) -> dict[str, JsonValue]:
        """``watch --json --summary``: a line with ``kind`` = ``summary``."""
        return {
            "kind": "summary",
            "time": self.time_ms,
            "windowSeconds": self.window_s,
            "requests": self.requests,
            "unattributed": self.unattributed,
            "sessions": self.sessions,
            "sessionsSwitched": self.switched,
            "switches": self.switches,
            "containers": [
                {
                    "name": figures.name,
                    "via": figures.source.value,
                    "requests": figures.requests,
                    "perSecond": round(figures.per_second, 2),
                    "sessions": figures.sessions,
                    "lastSeen": figures.last_seen_ms,
                }
                for figures in self.containers
            ],
            "paths": [
                {"key": key, "path": [[step.container, step.requests] for step in path]}
                for key, path in self.paths
            ],
        }


@dataclass(slots=True)
class _Container:
    source: NameSource
    requests: int = 0
    last_seen_ms: int = 0
    seconds: dict[int, int] = field(default_factory=dict)
    """Epoch second -> requests in it (only the window's)."""
    sessions: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Session:
    path: deque[PathStep]
    containers: set[str] = field(default_factory=set)
    switches: int = 0


class ContainerStats:
    """Requests per container per second, sessions per container, sessions' paths.

    Args:
        window_s: Seconds the per-second rate is averaged over.
        max_sessions: Sessions remembered for paths and per-container counts.
        path_length: Steps kept per session path (the oldest fall off).
    """

    def __init__(
        self, *, window_s: int = 10, max_sessions: int = 100_000, path_length: int = 20
    ) -> None:
        self.window_s = window_s
        self.max_sessions = max_sessions
        self.path_length = path_length
        self.requests = 0
        self.unattributed = 0
        self.switches = 0
        self._switched = 0
        """Sessions remembered that changed container at least once (kept, not counted per
        summary: a walk of ``max_sessions`` sessions on every batch stalled the UI)."""
        self._containers: dict[str, _Container] = {}
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._first_ms: int | None = None

    def add(self, request: AttributedRequest) -> None:
        """Count one attributed event (a destroyed session is not a request)."""
        event = request.event
        if event.kind is EventKind.DESTROYED:
            return
        self.requests += 1
        if self._first_ms is None:
            self._first_ms = event.time_ms
        container = request.container
        if container is None:
            self.unattributed += 1
            return
        name = container.name
        figures = self._containers.get(name)
        if figures is None:
            figures = self._containers[name] = _Container(container.source)
        figures.source = container.source
        figures.requests += 1
        figures.last_seen_ms = max(figures.last_seen_ms, event.time_ms)
        second = event.time_ms // 1000
        figures.seconds[second] = figures.seconds.get(second, 0) + 1
        if len(figures.seconds) > self.window_s + 1:
            self._trim(figures, second)
        figures.sessions.add(event.key)
        self._step(event.key, name)

    def _trim(self, figures: _Container, now_second: int) -> None:
        oldest = now_second - self.window_s
        for second in [s for s in figures.seconds if s <= oldest]:
            del figures.seconds[second]

    def _step(self, key: str, name: str) -> None:
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = _Session(deque(maxlen=self.path_length))
            if len(self._sessions) > self.max_sessions:
                gone_key, gone = self._sessions.popitem(last=False)
                if gone.switches:
                    self._switched -= 1
                for container in gone.containers:
                    figures = self._containers.get(container)
                    if figures is not None:
                        figures.sessions.discard(gone_key)
        else:
            self._sessions.move_to_end(key)
        path = session.path
        if path and path[-1].container == name:
            path[-1] = PathStep(name, path[-1].requests + 1)
        else:
            if path:
                if not session.switches:
                    self._switched += 1
                session.switches += 1
                self.switches += 1
            path.append(PathStep(name, 1))
        session.containers.add(name)

    def path(self, key: str) -> tuple[PathStep, ...]:
        """A session's containers in order, repeats folded (empty when unknown)."""
        session = self._sessions.get(key)
        return tuple(session.path) if session else ()

    def per_second(self, name: str, now_ms: int) -> float:
        """Requests per second a container served over the window ending at ``now_ms``."""
        figures = self._containers.get(name)
        if figures is None:
            return 0.0
        return self._rate(figures, now_ms)

    def _rate(self, figures: _Container, now_ms: int) -> float:
        now_second = now_ms // 1000
        counted = sum(
            count
            for second, count in figures.seconds.items()
            if now_second - self.window_s < second <= now_second
        )
        # While the figures are younger than the window, average over their age.
        first = self._first_ms if self._first_ms is not None else now_ms
        span = min(float(self.window_s), max(1.0, (now_ms - first) / 1000))
        return counted / span

    def summary(self, now_ms: int, *, paths: int = 10) -> StatsSummary:
        """The figures at ``now_ms``: per container (busiest first) and stickiness.

        Args:
            now_ms: The end of the rate window.
            paths: How many of the sessions seen last to give the paths of.
        """
        containers = sorted(
            (
                ContainerFigures(
                    name,
                    figures.source,
                    figures.requests,
                    self._rate(figures, now_ms),
                    len(figures.sessions),
                    figures.last_seen_ms,
                )
                for name, figures in self._containers.items()
            ),
            key=lambda f: (-f.requests, f.name),
        )
        switched = self._switched
        return StatsSummary(
            time_ms=now_ms,
            window_s=self.window_s,
            containers=tuple(containers),
            requests=self.requests,
            unattributed=self.unattributed,
            sessions=len(self._sessions),
            switched=switched,
            switches=self.switches,
            paths=tuple(
                (key, tuple(session.path))
                for key, session in itertools.islice(reversed(self._sessions.items()), paths)
            ),
        )
