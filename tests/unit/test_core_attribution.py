"""Attribution by connection, pure: client maps, naming order, which write made an event."""

from __future__ import annotations

import dataclasses
import re

import pytest

from inspector.core.attribution import (
    SYNC_PREFIX,
    Attributor,
    ClientInfo,
    ClientMap,
    ClientMapError,
    CombinedLayout,
    ConnectionNamer,
    ContainerName,
    FrameworksLayout,
    NameSource,
    SessionRef,
    SpringLayout,
    parse_client_list,
    parse_hosts,
)
from inspector.core.changes import EventKind, EventSource, RequestEvent
from inspector.core.containers import ContainerStats, PathStep
from inspector.core.monitor import MonitorCommand

SID = "e1237df7-5646-4382-aa12-41435ed09dc7"
KEY = f"spring:session:sessions:{SID}"
NODE = "127.0.0.1:6379"
JDK_LONG = bytes.fromhex(
    "aced00057372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c7565"
    "787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000169f5e8a13a"
)


def cmd(client: str, *args: bytes, t: int = 1) -> MonitorCommand:
    return MonitorCommand(t, 0, client, args)


def request(
    stamp: int | None,
    *,
    host: str | None = None,
    kind: EventKind = EventKind.REQUEST,
    key: str = KEY,
    previous_host: str | None = None,
) -> RequestEvent:
    return RequestEvent(
        time_ms=1_000,
        key=key,
        session_id=key.rsplit(":", 1)[1],
        namespace="spring:session",
        host=host,
        previous_host=previous_host,
        changed=("scopedTarget.sampleSession",),
        last_accessed_time=stamp,
        source=EventSource.NOTIFICATION,
        kind=kind,
    )


def hmset(client: str, stamp: int, key: str = KEY) -> MonitorCommand:
    return cmd(client, b"HMSET", key.encode(), b"lastAccessedTime", str(stamp).encode(), b"x", b"y")


def attribute(attributor: Attributor, event: RequestEvent) -> tuple[str | None, str | None]:
    result = attributor.finish(attributor.decide(event))
    return (result.container.name if result.container else None, result.via)


# ----------------------------------------------------------------- the client map


MAP = """\
# ECS tasks of the sample app (awsvpc): task IP -> service/task
10.0.1.23        sample-app/3f2a9c0d   # trailing comment
10.0.2.0/24      other-service
10.0.0.0/8       the-vpc
10.0.1.23:50312  one-connection
fd00::5          v6-task
[fd00::6]:7000   v6-connection
"""


@pytest.mark.parametrize(
    ("ip", "port", "name"),
    [
        ("10.0.1.23", 1, "sample-app/3f2a9c0d"),
        ("10.0.1.23", 50312, "one-connection"),
        ("10.0.2.77", None, "other-service"),
        ("10.9.9.9", 5, "the-vpc"),
        ("::ffff:10.0.2.1", 5, "other-service"),
        ("fd00:0::5", 5, "v6-task"),
        ("fd00::6", 7000, "v6-connection"),
        ("192.168.1.1", 5, None),
        ("not-an-ip", 5, None),
    ],
)
def test_the_most_specific_map_entry_wins(ip: str, port: int | None, name: str | None) -> None:
    client_map = ClientMap(MAP)
    assert len(client_map) == 6
    assert client_map.lookup(ip, port) == name


def test_a_hosts_file_is_a_client_map() -> None:
    hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.0.0.5 app-a.test app-a\n"
    assert ClientMap(hosts).lookup("10.0.0.5") == "app-a.test"
    assert parse_hosts(hosts + "10.0.0.5 second\nbad line\nnot-ip name\n") == {
        "127.0.0.1": "localhost",
        "::1": "localhost",
        "10.0.0.5": "app-a.test",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.1\n", "map.txt line 1: '10.0.0.1' has no name"),
        ("\n# c\nhost.example name\n", "map.txt line 3: 'host.example' is not an IP"),
        ("10.0.0.1/33 x\n", "map.txt line 1: '10.0.0.1/33' is not an IP"),
        ("10.0.0.1:port x\n", "map.txt line 1: '10.0.0.1:port' is not an IP"),
    ],
)
def test_a_bad_map_line_is_named_with_its_number(text: str, message: str) -> None:
    with pytest.raises(ClientMapError, match="^" + re.escape(message)):
        ClientMap(text, origin="map.txt")


# ----------------------------------------------------------------- naming


def test_client_list_lines_are_read_field_by_field() -> None:
    reply = (
        b"id=3 addr=127.0.0.2:42415 laddr=127.0.0.1:7788 fd=7 name=container-1 age=7 "
        b"lib-name=redis-py cmd=expire user=default\n"
        b"id=5 addr=127.0.0.3:55591 laddr=127.0.0.1:7788 fd=9 name= age=7 cmd=expire\n"
        b"garbage\n"
    )
    assert parse_client_list(reply) == [
        ClientInfo(3, "127.0.0.2:42415", "container-1", "redis-py", "expire"),
        ClientInfo(5, "127.0.0.3:55591", "", "", "expire"),
    ]


def test_names_come_from_the_client_name_then_the_map_then_dns_then_the_address() -> None:
    namer = ConnectionNamer(ClientMap("10.0.0.2 mapped\n"))
    namer.replace_clients(NODE, [ClientInfo(1, "10.0.0.1:5", "named")], since=0)
    namer.set_dns("10.0.0.3", "resolved.test")
    namer.set_dns("10.0.0.4", None)
    assert namer.name(NODE, "10.0.0.1:5") == ContainerName(
        "named", NameSource.CLIENT_NAME, "10.0.0.1:5"
    )
    assert namer.name(NODE, "10.0.0.2:5").source is NameSource.MAP
    assert namer.name(NODE, "10.0.0.3:5") == ContainerName(
        "resolved.test", NameSource.DNS, "10.0.0.3:5"
    )
    assert namer.name(NODE, "10.0.0.4:5") == ContainerName(
        "10.0.0.4", NameSource.ADDRESS, "10.0.0.4:5"
    )
    assert namer.name(NODE, "unix:/run/r.sock").name == "unix:/run/r.sock"
    # The same address on another node is another connection: no name there.
    assert namer.name("127.0.0.1:7000", "10.0.0.1:5").source is NameSource.ADDRESS
    # Only connections a lookup would name are looked up, once.
    assert namer.dns_wanted(NODE, "10.0.0.1:5") is None
    assert namer.dns_wanted(NODE, "10.0.0.2:5") is None
    assert namer.dns_wanted(NODE, "10.0.0.3:5") is None
    assert namer.dns_wanted(NODE, "10.0.0.9:5") == "10.0.0.9"
    assert ConnectionNamer(use_dns=False).dns_wanted(NODE, "10.0.0.9:5") is None


def test_a_name_seen_in_monitor_survives_a_client_list_sent_before_it() -> None:
    namer = ConnectionNamer()
    namer.learn_name(NODE, "10.0.0.1:1", "old")  # then the connection closed
    since = namer.generation()  # CLIENT LIST goes out...
    namer.learn_name(NODE, "10.0.0.2:2", "fresh")  # ...MONITOR shows a SETNAME meanwhile
    namer.replace_clients(NODE, [ClientInfo(9, "10.0.0.3:3", "")], since, asked=["10.0.0.4:4"])
    assert not namer.knows(NODE, "10.0.0.1:1")
    assert namer.client_name(NODE, "10.0.0.2:2") == "fresh"
    assert namer.knows(NODE, "10.0.0.3:3")
    assert namer.knows(NODE, "10.0.0.4:4")


# ----------------------------------------------------------------- which write


def test_writes_are_tied_to_events_by_their_last_access_time() -> None:
    attributor = Attributor()
    attributor.observe(NODE, [cmd("10.0.0.1:5", b"client", b"setname", b"container-1")])
    # Both writes are read before the first event is attributed (the feed read
    # between them): the stamp says which one each event is.
    attributor.observe(NODE, [hmset("10.0.0.1:5", 100), hmset("10.0.0.2:6", 200)])
    assert attribute(attributor, request(100)) == ("container-1", "client-name")
    assert attribute(attributor, request(200)) == ("10.0.0.2", "address")
    # Nothing new since: the host attribute answers.
    assert attribute(attributor, request(200, host="from-attr")) == ("from-attr", "attribute")
    assert attribute(attributor, request(200)) == (None, None)


def test_coalesced_requests_go_to_the_newest_write_and_without_a_stamp_too() -> None:
    attributor = Attributor()
    attributor.observe(NODE, [hmset("10.0.0.1:5", 100), hmset("10.0.0.2:6", 200)])
    assert attribute(attributor, request(200))[0] == "10.0.0.2"
    attributor.observe(
        NODE,
        [
            cmd("10.0.0.1:5", b"hset", KEY.encode(), b"maxInactiveInterval", b"0"),
            cmd("10.0.0.1:5", b"del", f"spring:session:sessions:expires:{SID}".encode()),
        ],
    )
    invalidated = attributor.finish(attributor.decide(request(200, kind=EventKind.INVALIDATED)))
    assert invalidated.container is not None
    assert invalidated.container.name == "10.0.0.1"
    assert invalidated.previous is not None
    assert invalidated.previous.name == "10.0.0.2"


def test_only_a_delete_destroys_a_session() -> None:
    attributor = Attributor()
    attributor.observe(NODE, [hmset("10.0.0.1:5", 100)])
    assert attribute(attributor, request(None, kind=EventKind.DESTROYED)) == (None, None)
    attributor.observe(NODE, [cmd("10.0.0.2:6", b"UNLINK", b"other", KEY.encode())])
    assert attribute(attributor, request(None, kind=EventKind.DESTROYED))[0] == "10.0.0.2"


def test_a_jdk_serialized_stamp_is_read() -> None:
    attributor = Attributor()
    attributor.observe(
        NODE,
        [
            cmd("10.0.0.1:5", b"hset", KEY.encode(), b"lastAccessedTime", JDK_LONG),
            cmd("10.0.0.2:5", b"hset", KEY.encode(), b"lastAccessedTime", b"5"),
        ],
    )
    assert attribute(attributor, request(0x169F5E8A13A))[0] == "10.0.0.1"


def test_script_writes_belong_to_the_connection_that_ran_the_script() -> None:
    attributor = Attributor()
    attributor.observe(
        NODE,
        [
            cmd("10.0.0.7:1", b"EVALSHA", b"abc", b"1", KEY.encode()),
            cmd("lua", b"hset", KEY.encode(), b"lastAccessedTime", b"100"),
        ],
    )
    assert attribute(attributor, request(100))[0] == "10.0.0.7"


def test_shadow_keys_renames_and_other_frameworks_keys() -> None:
    attributor = Attributor()
    shadow = f"spring:session:sessions:expires:{SID}".encode()
    attributor.observe(NODE, [cmd("10.0.0.1:5", b"append", shadow, b"")])
    assert attribute(attributor, request(7))[0] == "10.0.0.1"
    new = "spring:session:sessions:0d6b1c53-1f56-4a3c-9bb5-111111111111"
    attributor.observe(NODE, [cmd("10.0.0.3:5", b"rename", KEY.encode(), new.encode())])
    assert attribute(attributor, request(7, key=new))[0] == "10.0.0.3"
    # Keys nobody recognises are not sessions: nothing is recorded for them.
    attributor.observe(NODE, [cmd("10.0.0.1:5", b"set", b"sess:abc", b"{}")])
    assert attributor.log.writes == 3

    class Express:
        def session_of(self, key: bytes) -> SessionRef | None:
            return SessionRef("sess", key[5:].decode()) if key.startswith(b"sess:") else None

        def access_stamp(self, command: MonitorCommand) -> int | None:
            return None

    layout = CombinedLayout([SpringLayout(), Express()])
    both = Attributor(layout)
    both.observe(NODE, [cmd("10.0.0.9:5", b"SET", b"sess:abc", b"{}", b"EX", b"86400")])
    assert attribute(both, request(None, key="sess:abc"))[0] == "10.0.0.9"


def test_sync_markers_are_returned_not_recorded() -> None:
    attributor = Attributor()
    markers = attributor.observe(
        NODE, [cmd("127.0.0.1:9", b"ECHO", SYNC_PREFIX + b"1"), cmd("1.1.1.1:1", b"echo", b"hi")]
    )
    assert markers == [SYNC_PREFIX + b"1"]


def test_hello_setname_names_a_connection() -> None:
    attributor = Attributor()
    attributor.observe(NODE, [cmd("10.0.0.1:5", b"HELLO", b"3", b"SETNAME", b"app-7")])
    attributor.observe(NODE, [hmset("10.0.0.1:5", 1)])
    assert attribute(attributor, request(1)) == ("app-7", "client-name")


def test_a_host_attribute_naming_another_container_is_flagged() -> None:
    namer = ConnectionNamer(ClientMap("10.0.0.1 svc/container-1\n"))
    namer.set_dns("10.0.0.2", "ip-10-0-0-2.ec2.internal")
    attributor = Attributor(namer=namer)
    attributor.observe(NODE, [hmset("10.0.0.1:5", 1), hmset("10.0.0.2:5", 2)])
    agree = attributor.finish(attributor.decide(request(1, host="Container-1")))
    assert (agree.via, agree.host_disagrees) == (NameSource.MAP, False)
    first_label = attributor.finish(attributor.decide(request(2, host="ip-10-0-0-2")))
    assert not first_label.host_disagrees
    attributor.observe(NODE, [hmset("10.0.0.2:5", 3)])
    stale = attributor.finish(attributor.decide(request(3, host="container-1")))
    assert stale.host_disagrees
    out = stale.to_json()
    assert (out["host"], out["via"], out["hostAttribute"], out["hostDisagrees"]) == (
        "ip-10-0-0-2.ec2.internal",
        "dns",
        "container-1",
        True,
    )
    assert (out["address"], out["previousHost"]) == ("10.0.0.2:5", "ip-10-0-0-2.ec2.internal")


def test_the_write_log_stays_bounded() -> None:
    attributor = Attributor(per_session=3, max_sessions=2)
    keys = [f"spring:session:sessions:s{i:010d}" for i in range(3)]
    for stamp in range(5):
        attributor.observe(NODE, [hmset("10.0.0.1:5", stamp, key=keys[0])])
    attributor.observe(NODE, [hmset("10.0.0.2:5", 9, key=k) for k in keys[1:]])
    assert attribute(attributor, request(9, key=keys[0])) == (None, None)  # forgotten
    history = attributor.log.history(SessionRef("spring:session", "s0000000002"))
    assert history is not None
    assert len(history.writes) == 1


def test_by_host_keeps_the_feed_s_previous_host_for_sessions_it_has_not_seen() -> None:
    attributor = Attributor()
    first = attributor.by_host(request(1, host="c2", previous_host="c1"))
    assert first.previous == ContainerName("c1", NameSource.ATTRIBUTE)
    assert first.to_json()["via"] == "attribute"
    assert attributor.by_host(request(2)).to_json()["via"] is None


# ----------------------------------------------------------------- per container


def test_per_container_figures_and_session_paths() -> None:
    stats = ContainerStats(window_s=10)
    attributor = Attributor()
    other = "spring:session:sessions:0d6b1c53-1f56-4a3c-9bb5-111111111111"
    plan = [(KEY, "c1", 1_000), (KEY, "c1", 2_000), (KEY, "c2", 3_000), (other, "c2", 4_000)]
    for key, host, time_ms in plan:
        event = request(1, host=host, key=key)
        stats.add(attributor.by_host(dataclasses.replace(event, time_ms=time_ms)))
    stats.add(attributor.by_host(request(None, kind=EventKind.DESTROYED)))  # not a request
    stats.add(attributor.by_host(request(5)))  # no host: unattributed
    summary = stats.summary(now_ms=11_500)
    # Busiest first, then by name.
    assert [(c.name, c.requests, c.sessions) for c in summary.containers] == [
        ("c1", 2, 1),
        ("c2", 2, 2),
    ]
    assert (summary.requests, summary.unattributed, summary.switched, summary.switches) == (
        5,
        1,
        1,
        1,
    )
    # Over the 10 s ending at 11.5 s: c1's request at 1 s is out of the window.
    assert stats.per_second("c1", 11_500) == pytest.approx(0.1)
    assert stats.path(KEY) == (PathStep("c1", 2), PathStep("c2", 1))
    assert summary.paths == ((other, (PathStep("c2", 1),)), (KEY, stats.path(KEY)))
    assert summary.to_json()["paths"] == [
        {"key": other, "path": [["c2", 1]]},
        {"key": KEY, "path": [["c1", 2], ["c2", 1]]},
    ]
    assert summary.to_json()["containers"][1] == {  # type: ignore[index]
        "name": "c2",
        "via": "attribute",
        "requests": 2,
        "perSecond": 0.2,
        "sessions": 2,
        "lastSeen": 4_000,
    }


def test_figures_stay_bounded() -> None:
    stats = ContainerStats(max_sessions=2, path_length=2)
    attributor = Attributor()
    keys = [f"spring:session:sessions:s{i:010d}" for i in range(3)]
    for key in keys:
        stats.add(attributor.by_host(request(1, host="c1", key=key)))
    for host in ("c2", "c3", "c4"):
        stats.add(attributor.by_host(request(1, host=host, key=keys[2])))
    assert stats.path(keys[0]) == ()
    assert stats.path(keys[2]) == (PathStep("c3", 1), PathStep("c4", 1))
    assert stats.summary(0).containers[-1].sessions == 1  # c1: keys[0] forgotten


def test_the_switched_count_is_kept_as_sessions_switch_and_are_forgotten() -> None:
    # Kept as it goes (a walk of every session per summary stalled the TUI at 1M).
    stats = ContainerStats(max_sessions=2)
    attributor = Attributor()
    keys = [f"spring:session:sessions:s{i:010d}" for i in range(3)]
    plan = [(keys[0], "c1"), (keys[0], "c2"), (keys[0], "c1"), (keys[1], "c1"), (keys[1], "c1")]
    for key, host in plan:
        stats.add(attributor.by_host(request(1, host=host, key=key)))
    assert (stats.summary(0).switched, stats.summary(0).switches) == (1, 2)
    stats.add(attributor.by_host(request(1, host="c2", key=keys[1])))
    assert stats.summary(0).switched == 2
    stats.add(attributor.by_host(request(1, host="c1", key=keys[2])))  # keys[0] forgotten
    assert stats.path(keys[0]) == ()
    assert stats.summary(0).switched == 1
    stats.add(attributor.by_host(request(1, host="c1", key=keys[0])))  # keys[1] forgotten
    assert stats.summary(0).switched == 0


def test_an_event_whose_write_was_pushed_out_gets_no_other_write() -> None:
    attributor = Attributor(per_session=2)
    attributor.observe(
        NODE, [hmset("10.0.0.1:5", 1), hmset("10.0.0.2:5", 2), hmset("10.0.0.3:5", 3)]
    )
    assert attribute(attributor, request(1)) == (None, None)  # a burst pushed it out
    assert attribute(attributor, request(2))[0] == "10.0.0.2"  # not consumed by the miss
    assert attribute(attributor, request(3))[0] == "10.0.0.3"
    history = attributor.log.history(SessionRef("spring:session", SID))
    assert history is not None
    assert not history.writes  # used writes leave


def test_other_frameworks_sessions_are_attributed_through_their_adapters() -> None:
    attributor = Attributor()  # the default layout: Spring, then every framework adapter
    express = "sess:Xg6KNvLY0kUoc2hM_C2pS0ZzFzJ8jR9x"
    php = "PHPREDIS_SESSION:3ln6ms9h9jqh3ecgka29qs8vnr"
    attributor.observe(
        NODE,
        [
            cmd("10.0.0.1:5", b"SET", express.encode(), b'{"cookie":{}}', b"EX", b"86400"),
            cmd("10.0.0.2:5", b"SETEX", php.encode(), b"1440", b"a|i:1;"),
        ],
    )
    assert attribute(attributor, request(None, key=express)) == ("10.0.0.1", "address")
    assert attribute(attributor, request(None, key=php)) == ("10.0.0.2", "address")
    assert FrameworksLayout().session_of(express.encode()) == SessionRef(
        "express", "Xg6KNvLY0kUoc2hM_C2pS0ZzFzJ8jR9x"
    )
    assert FrameworksLayout().session_of(b"unrelated:key") is None
