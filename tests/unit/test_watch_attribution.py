"""`watch` flags and output for attribution: bad maps, flag combinations, lines, summaries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from inspector.core.attribution import AttributedRequest, ContainerName, NameSource
from inspector.core.changes import EventKind, EventSource, RequestEvent
from inspector.core.containers import ContainerStats
from inspector.core.monitor import MONITOR_COST
from inspector.subcommands.watch import format_attributed, format_summary
from tests.cli_run import inspector

EVENT = RequestEvent(
    time_ms=1_552_129_074_569,
    key="spring:session:sessions:e1237df7-5646-4382-aa12-41435ed09dc7",
    session_id="e1237df7-5646-4382-aa12-41435ed09dc7",
    namespace="spring:session",
    host=None,
    previous_host=None,
    changed=("scopedTarget.sampleSession",),
    last_accessed_time=1_552_129_074_569,
    source=EventSource.NOTIFICATION,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.1\n", b"tasks.map line 1: '10.0.0.1' has no name"),
        ("x.example name\n", b"tasks.map line 1: 'x.example' is not an IP"),
    ],
)
def test_a_bad_client_map_is_a_usage_error(
    tmp_path: Path, text: str, message: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("tasks.map").write_text(text)
    result = inspector("watch", "--attribute-by", "monitor", "--client-map", "tasks.map")
    assert result.returncode == 2
    assert message in result.stderr
    assert b"Traceback" not in result.stderr


def test_a_missing_client_map_is_a_usage_error(tmp_path: Path) -> None:
    result = inspector("watch", "--attribute-by", "monitor", "--client-map", str(tmp_path / "no"))
    assert result.returncode == 2
    assert b"cannot read" in result.stderr


@pytest.mark.parametrize("flags", [("--no-dns",), ("--client-map", "/etc/hosts")])
def test_naming_flags_need_attribution_by_monitor(flags: tuple[str, ...]) -> None:
    result = inspector("watch", *flags)
    assert result.returncode == 2
    assert b"needs --attribute-by monitor" in result.stderr


def test_the_help_gives_the_measured_cost() -> None:
    help_text = inspector("watch", "--help").stdout.decode()
    assert f"{MONITOR_COST.percent}%" in " ".join(help_text.split())


def test_lines_say_how_a_connection_was_named_and_flag_disagreements() -> None:
    utc = dt.UTC
    attributed = AttributedRequest(
        EVENT,
        ContainerName("task-b", NameSource.MAP, "10.0.1.24:50312"),
        ContainerName("task-a", NameSource.MAP, "10.0.1.23:41000"),
    )
    assert format_attributed(attributed, utc) == (
        "10:57:54.569  e1237df7  task-b            ← task-a          "
        "[scopedTarget.sampleSession]  (map)"
    )
    stale = AttributedRequest(
        dataclasses.replace(EVENT, host="task-a"),
        ContainerName("task-b", NameSource.CLIENT_NAME, "10.0.1.24:5"),
        None,
        host_disagrees=True,
    )
    assert format_attributed(stale, utc).endswith("(client-name)  (attribute: task-a)")
    # By attribute, the line is the one watch always printed.
    by_host = AttributedRequest(
        dataclasses.replace(EVENT, host="c1"),
        ContainerName("c1", NameSource.ATTRIBUTE),
        None,
    )
    assert format_attributed(by_host, utc) == (
        "10:57:54.569  e1237df7  c1                [scopedTarget.sampleSession]"
    )


def test_a_summary_block() -> None:
    stats = ContainerStats()
    for name in ("c1", "c1", "c2"):
        stats.add(AttributedRequest(EVENT, ContainerName(name, NameSource.CLIENT_NAME), None))
    stats.add(AttributedRequest(dataclasses.replace(EVENT, kind=EventKind.REQUEST), None, None))
    lines = format_summary(stats.summary(EVENT.time_ms + 1_000), dt.UTC)
    assert lines[0] == (
        "== 10:57:55 4 requests, 2 containers, 1 sessions (1 switched containers, 1 switches); "
        "rates over 10 s"
    )
    assert lines[1].split() == ["c1", "2.00/s", "2", "requests", "1", "sessions", "(client-name)"]
    assert lines[-2].split() == ["(unknown)", "1", "requests"]
    assert lines[-1].split() == ["e1237df7", "c1", "x2", "->", "c2", "x1"]  # the session's path
