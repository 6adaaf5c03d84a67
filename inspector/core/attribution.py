"""Which container served a request: the connection that wrote the session, named.

The server knows who wrote: every command reaches it on a connection with an
address (one per ECS task in awsvpc mode) and, when the application sets one,
a client name. MONITOR shows both (:mod:`inspector.core.monitor`). This module
turns what MONITOR reports into answers, without any I/O:

* :class:`WriteLog` remembers the last few *session writes* per session: a
  write command (HSET, HMSET, DEL, EXPIRE, SET, ...) on a key the session
  layout recognises (:class:`SessionLayout`; :class:`SpringLayout` by default,
  other frameworks plug theirs in), with the connection that sent it and, where
  the write shows it, the ``lastAccessedTime`` it set;
* :class:`ConnectionNamer` names a connection, in this order: its client name
  (``CLIENT SETNAME``, from ``CLIENT LIST`` or seen in MONITOR), the
  ``--client-map`` (:class:`ClientMap`), a reverse DNS / hosts-file name
  (looked up by the caller, which hands the answer in), else the address;
* :class:`Attributor` ties a :class:`~inspector.core.changes.RequestEvent` to
  the write that produced it and says which container served it, where the
  name came from (:class:`NameSource`) and whether the session's own host
  attribute disagrees.

Which write produced an event: the caller first makes sure MONITOR has shown
everything up to the feed's read (a sync marker, see
:data:`SYNC_PREFIX`); then, among the session's writes not yet used for an
event, the newest one that set the event's ``lastAccessedTime``, else the
newest one. So two containers writing the same session a millisecond apart
are still told apart.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from inspector.core.changes import EventKind, RequestEvent
from inspector.core.decoders import jdk_number
from inspector.core.frameworks import Registry, default_registry
from inspector.core.monitor import MonitorCommand, split_address
from inspector.core.source import SourceItem
from inspector.core.spring import LAST_ACCESSED_TIME, classify_key
from inspector.core.values import JsonValue

__all__ = [
    "SCRIPT_COMMANDS",
    "SESSION_WRITE_COMMANDS",
    "STREAM_COMMANDS",
    "SYNC_PREFIX",
    "AttributedItem",
    "AttributedRequest",
    "AttributionNotice",
    "AttributionNoticeKind",
    "Attributor",
    "ClientInfo",
    "ClientMap",
    "ClientMapError",
    "CombinedLayout",
    "ConnectionNamer",
    "ContainerName",
    "Decision",
    "FrameworksLayout",
    "NameSource",
    "SessionLayout",
    "SessionRef",
    "SessionWrite",
    "SpringLayout",
    "WriteLog",
    "default_layout",
    "parse_client_list",
    "parse_hosts",
]

# ----------------------------------------------------------------- commands

_FIRST_KEY_WRITES = frozenset(
    b"hset hmset hsetnx hdel hincrby hincrbyfloat set setex psetex setnx getset getex getdel "
    b"append setrange incr incrby decr decrby expire pexpire expireat pexpireat persist "
    b"sadd srem zadd zrem zincrby lpush rpush lpop rpop lrem ltrim lset".split()
)
_ALL_KEY_WRITES = frozenset((b"del", b"unlink"))
_TWO_KEY_WRITES = frozenset((b"rename", b"renamenx", b"copy"))
_DELETES = frozenset(("del", "unlink", "rename", "renamenx", "getdel"))
SESSION_WRITE_COMMANDS: frozenset[bytes] = _FIRST_KEY_WRITES | _ALL_KEY_WRITES | _TWO_KEY_WRITES
"""Commands that write a session when their key is one (lower case)."""
SCRIPT_COMMANDS: frozenset[bytes] = frozenset(
    b"eval evalsha eval_ro evalsha_ro fcall fcall_ro".split()
)
"""Commands that run a script: the writes it makes show up as ``lua``."""
_NAMING_COMMANDS = frozenset((b"client", b"hello"))
SYNC_PREFIX = b"session-inspector:sync:"
"""An ``ECHO`` of this prefix is a reader's sync marker (:meth:`Attributor.observe`)."""
STREAM_COMMANDS: frozenset[bytes] = (
    SESSION_WRITE_COMMANDS | SCRIPT_COMMANDS | _NAMING_COMMANDS | {b"echo"}
)
"""What a MONITOR reader must parse (everything else is only counted)."""


# ----------------------------------------------------------------- names


class NameSource(StrEnum):
    """Where a container's name came from (``via`` in ``watch --json``)."""

    ATTRIBUTE = "attribute"
    """A host-like attribute the application stored in the session."""
    CLIENT_NAME = "client-name"
    """The connection's ``CLIENT SETNAME``."""
    MAP = "map"
    """The ``--client-map`` file."""
    DNS = "dns"
    """Reverse DNS or the hosts file, for the connection's IP."""
    ADDRESS = "address"
    """Nothing names it: the connection's IP is shown."""


@dataclass(frozen=True, slots=True)
class ContainerName:
    """A container as the inspector can name it, and how it knows."""

    name: str
    source: NameSource
    address: str | None = None
    """The connection as Redis printed it (``10.0.1.23:50312``); ``None`` for an attribute."""


class ClientMapError(ValueError):
    """A ``--client-map`` line is not ``<IP|CIDR|IP:PORT> <name>``."""


@dataclass(frozen=True, slots=True)
class _MapEntry:
    name: str
    line: int


class ClientMap:
    """Connection address -> container name, from a ``--client-map`` file.

    The format is /etc/hosts' (so a hosts file is a valid map): one entry a
    line, ``<pattern> <name> [ignored...]``, ``#`` starts a comment. A pattern
    is an IP (``10.0.1.23``, ``fd00::5``), a network (``10.0.2.0/24``) or one
    connection (``10.0.1.23:50312``, ``[fd00::5]:50312``). The most specific
    match wins: the connection, then the IP, then the longest network. Names
    contain no spaces (an ECS task: ``sample-app/3f2a9c0d``).
    """

    def __init__(self, text: str = "", *, origin: str = "client map") -> None:
        self._connections: dict[tuple[str, int], _MapEntry] = {}
        self._ips: dict[str, _MapEntry] = {}
        self._networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, _MapEntry]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) < 2:
                raise ClientMapError(
                    f"{origin} line {number}: {raw.strip()!r} has no name "
                    "(expected: <IP, CIDR or IP:PORT> <name>)"
                )
            self._add(words[0], _MapEntry(words[1], number), origin)
        self._networks.sort(key=lambda item: item[0].prefixlen, reverse=True)

    def __len__(self) -> int:
        return len(self._connections) + len(self._ips) + len(self._networks)

    def _add(self, pattern: str, entry: _MapEntry, origin: str) -> None:
        try:
            if "/" in pattern:
                self._networks.append((ipaddress.ip_network(pattern, strict=False), entry))
                return
            if pattern.count(":") == 1 or pattern.startswith("["):
                split = split_address(pattern)
                if split is None:
                    raise ValueError(pattern)
                self._connections[(_canonical_ip(split[0]), split[1])] = entry
                return
            self._ips[_canonical_ip(pattern)] = entry
        except ValueError:
            raise ClientMapError(
                f"{origin} line {entry.line}: {pattern!r} is not an IP, a CIDR network or IP:PORT"
            ) from None

    def lookup(self, ip: str, port: int | None = None) -> str | None:
        """The name for a connection from ``ip`` (and ``port``), or ``None``."""
        try:
            canonical = _canonical_ip(ip)
        except ValueError:
            return None
        if port is not None:
            entry = self._connections.get((canonical, port))
            if entry is not None:
                return entry.name
        entry = self._ips.get(canonical)
        if entry is not None:
            return entry.name
        if self._networks:
            address = ipaddress.ip_address(canonical)
            for network, entry in self._networks:
                if address.version == network.version and address in network:
                    return entry.name
        return None


def _canonical_ip(text: str) -> str:
    """One spelling per address; an IPv4-mapped IPv6 address as its IPv4 form."""
    address = ipaddress.ip_address(text.strip("[]"))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def parse_hosts(text: str) -> dict[str, str]:
    """IP -> first name, from /etc/hosts-formatted text (the first line for an IP wins).

    What a reverse lookup through the ``files`` NSS source answers; used to
    resolve against a hosts file other than the system's.
    """
    names: dict[str, str] = {}
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        try:
            ip = _canonical_ip(words[0])
        except ValueError:
            continue
        names.setdefault(ip, words[1])
    return names


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """One line of ``CLIENT LIST``: the fields attribution uses."""

    id: int
    addr: str
    name: str
    lib_name: str = ""
    cmd: str = ""


def parse_client_list(reply: bytes) -> list[ClientInfo]:
    """``CLIENT LIST``'s text, one :class:`ClientInfo` per line (bad lines skipped).

    Fields are ``key=value`` separated by spaces; client names cannot hold
    spaces (``CLIENT SETNAME`` refuses them), so splitting is exact.
    """
    clients: list[ClientInfo] = []
    for line in reply.decode("utf-8", "replace").splitlines():
        fields = dict(part.partition("=")[::2] for part in line.split(" ") if "=" in part)
        try:
            client_id = int(fields["id"])
            addr = fields["addr"]
        except (KeyError, ValueError):
            continue
        clients.append(
            ClientInfo(
                client_id,
                addr,
                fields.get("name", ""),
                fields.get("lib-name", ""),
                fields.get("cmd", ""),
            )
        )
    return clients


class ConnectionNamer:
    """Names connections: client name, then the map, then DNS, then the address.

    Client names are per node (in a cluster each node sees its own
    connections, from other ports). DNS answers are looked up by the caller
    (this class does no I/O) and handed in with :meth:`set_dns`.

    Args:
        client_map: Addresses -> names (``--client-map``).
        use_dns: Ask for reverse lookups (``False``: ``--no-dns``).
    """

    def __init__(self, client_map: ClientMap | None = None, *, use_dns: bool = True) -> None:
        self.client_map = client_map or ClientMap()
        self.use_dns = use_dns
        self._names: dict[tuple[str, str], tuple[str, int]] = {}
        """(node, address) -> (client name, generation learned)."""
        self._dns: dict[str, str | None] = {}
        self._generation = 0

    def generation(self) -> int:
        """A counter to pass to :meth:`replace_clients` (take it before sending CLIENT LIST)."""
        return self._generation

    def learn_name(self, node: str, addr: str, name: str) -> None:
        """A connection set its name (a ``CLIENT SETNAME`` / ``HELLO ... SETNAME`` line)."""
        self._generation += 1
        self._names[(node, addr)] = (name, self._generation)

    def replace_clients(
        self,
        node: str,
        clients: Iterable[ClientInfo],
        since: int,
        asked: Iterable[str] = (),
    ) -> None:
        """What ``CLIENT LIST`` on ``node`` says now.

        Names learned after ``since`` (seen in MONITOR while the list was on
        its way) are kept; older ones for connections no longer listed go.
        Connections in ``asked`` that the list does not hold (they closed
        already) are remembered as nameless, so they are not asked about again.
        """
        listed = {addr: "" for addr in asked}
        listed.update((client.addr, client.name) for client in clients)
        for key in [k for k in self._names if k[0] == node]:
            learned = self._names[key][1]
            if key[1] not in listed and learned <= since:
                del self._names[key]
        self._generation += 1
        for addr, name in listed.items():
            current = self._names.get((node, addr))
            if current is None or current[1] <= since:
                self._names[(node, addr)] = (name, self._generation)

    def knows(self, node: str, addr: str) -> bool:
        """Whether ``CLIENT LIST`` or MONITOR has said anything about this connection."""
        return (node, addr) in self._names

    def client_name(self, node: str, addr: str) -> str:
        """The connection's client name, ``""`` when it has none (or is unknown)."""
        known = self._names.get((node, addr))
        return known[0] if known else ""

    def dns_wanted(self, node: str, addr: str) -> str | None:
        """The IP to look up before naming this connection, if a lookup would be used."""
        if not self.use_dns or self.client_name(node, addr):
            return None
        split = split_address(addr)
        if split is None or self.client_map.lookup(*split) is not None:
            return None
        try:
            ip = _canonical_ip(split[0])
        except ValueError:
            return None
        return None if ip in self._dns else ip

    def set_dns(self, ip: str, name: str | None) -> None:
        """The answer of a reverse lookup (``None``: no name, do not ask again)."""
        self._dns[ip] = name

    def name(self, node: str, addr: str) -> ContainerName:
        """The best name for the connection ``addr`` on ``node``."""
        client_name = self.client_name(node, addr)
        if client_name:
            return ContainerName(client_name, NameSource.CLIENT_NAME, addr)
        split = split_address(addr)
        if split is None:  # unix:/path, lua: no IP to look up
            return ContainerName(addr, NameSource.ADDRESS, addr)
        mapped = self.client_map.lookup(*split)
        if mapped is not None:
            return ContainerName(mapped, NameSource.MAP, addr)
        try:
            ip = _canonical_ip(split[0])
        except ValueError:
            ip = split[0]
        resolved = self._dns.get(ip) if self.use_dns else None
        if resolved:
            return ContainerName(resolved, NameSource.DNS, addr)
        return ContainerName(ip, NameSource.ADDRESS, addr)

    def aliases(self, node: str, addr: str) -> set[str]:
        """Every name the connection goes by (lower case), to compare a host attribute with."""
        names = {self.client_name(node, addr)}
        split = split_address(addr)
        if split is not None:
            mapped = self.client_map.lookup(*split)
            if mapped:
                names.update((mapped, mapped.rsplit("/", 1)[-1]))
            try:
                ip = _canonical_ip(split[0])
            except ValueError:
                ip = split[0]
            names.add(ip)
            resolved = self._dns.get(ip)
            if resolved:
                names.update((resolved, resolved.split(".", 1)[0]))
        return {name.lower() for name in names if name}


# ----------------------------------------------------------------- sessions


@dataclass(frozen=True, slots=True, order=True)
class SessionRef:
    """Which session a key belongs to."""

    namespace: str
    session_id: str


class SessionLayout(Protocol):
    """How a framework's keys map to sessions (the seam for other frameworks' adapters)."""

    def session_of(self, key: bytes) -> SessionRef | None:
        """The session this key belongs to (its hash, shadow key, index set...), if any."""
        ...

    def access_stamp(self, command: MonitorCommand) -> int | None:
        """The last-access time (epoch ms) this write sets, where the command shows it."""
        ...


class SpringLayout:
    """Spring Session's keys: the session hash, ``sessions:expires:<id>`` and ``:idx`` sets.

    The stamp is ``lastAccessedTime`` in an HSET/HMSET, as Jackson (a number)
    or JDK serialization (a ``Long``) writes it. Answers are cached: a session's
    keys are written again and again.
    """

    CACHE = 50_000

    def __init__(self) -> None:
        self._cache: dict[bytes, SessionRef | None] = {}

    def session_of(self, key: bytes) -> SessionRef | None:
        """The session of a Spring Session key, in any namespace."""
        cache = self._cache
        if key in cache:
            return cache[key]
        ref = None
        try:
            spring = classify_key(key.decode("utf-8"))
        except UnicodeDecodeError:
            spring = None
        if spring is not None and spring.session_id is not None:
            ref = SessionRef(spring.namespace, spring.session_id)
        if len(cache) >= self.CACHE:
            cache.clear()  # cheaper than LRU bookkeeping on every write; refills at once
        cache[key] = ref
        return ref

    def access_stamp(self, command: MonitorCommand) -> int | None:
        """``lastAccessedTime`` as an HSET/HMSET of the session hash sets it."""
        if command.name not in (b"hset", b"hmset"):
            return None
        args = command.args
        field_name = LAST_ACCESSED_TIME.encode()
        for index in range(2, len(args) - 1, 2):
            if args[index] == field_name:
                value = args[index + 1]
                if value.isdigit():
                    return int(value)
                return jdk_number(value)
        return None


class FrameworksLayout:
    """Every other framework's keys, through their adapters (:mod:`inspector.core.frameworks`).

    A key an adapter recognises by its name (a session's, or one of its
    helper keys naming the session) belongs to that framework's session of
    that id. No stamp: the newest write since the session's last event is
    the one (those stores write a session with one command).

    Args:
        registry: The adapters to use (all, with their default prefixes, by default).
    """

    CACHE = 50_000

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or default_registry()
        self._cache: dict[bytes, SessionRef | None] = {}

    def session_of(self, key: bytes) -> SessionRef | None:
        """The session of a key some framework's adapter recognises."""
        cache = self._cache
        if key in cache:
            return cache[key]
        recognised = self.registry.recognize(key)
        ref = None
        if recognised is not None and recognised.match.session_id:
            ref = SessionRef(recognised.framework, recognised.match.session_id)
        if len(cache) >= self.CACHE:
            cache.clear()
        cache[key] = ref
        return ref

    def access_stamp(self, command: MonitorCommand) -> int | None:
        """None: these stores' writes carry no separate last-access field to match."""
        return None


class CombinedLayout:
    """Several frameworks' layouts at once: the first that recognises a key wins."""

    def __init__(self, layouts: Sequence[SessionLayout]) -> None:
        self.layouts = tuple(layouts)

    def session_of(self, key: bytes) -> SessionRef | None:
        """The first layout's answer."""
        for layout in self.layouts:
            ref = layout.session_of(key)
            if ref is not None:
                return ref
        return None

    def access_stamp(self, command: MonitorCommand) -> int | None:
        """The first stamp any layout reads from the command."""
        for layout in self.layouts:
            stamp = layout.access_stamp(command)
            if stamp is not None:
                return stamp
        return None


def default_layout() -> CombinedLayout:
    """Spring Session's keys first (its own path), then every framework adapter's."""
    return CombinedLayout([SpringLayout(), FrameworksLayout()])


@dataclass(frozen=True, slots=True)
class SessionWrite:
    """A write to a session's keys, and who made it."""

    seq: int
    """Order in which the log saw it (across nodes)."""
    time_us: int
    """Server time (MONITOR's)."""
    node: str
    client: str
    """The connection that sent it (for a script's write: the connection that ran the script)."""
    command: str
    stamp: int | None
    """The ``lastAccessedTime`` it set, when it shows one."""
    by_script: bool = False


@dataclass(slots=True)
class _History:
    writes: deque[SessionWrite]
    consumed: int = 0
    """seq of the newest write already tied to an event."""
    last: ContainerName | None = None
    """The container of the session's previous event."""


@dataclass(slots=True)
class _NodeState:
    script_caller: str | None = None
    """The connection whose script is running (MONITOR shows the call, then its writes)."""


class WriteLog:
    """The session writes not yet tied to an event, per session; script callers per node.

    A write leaves once an event has used it (or a newer one), so a session
    holds only what happened since its last event: usually one request's
    writes. Bounded all the same: ``per_session`` writes per session (a
    burst), ``max_sessions`` sessions and ``max_writes`` writes in all (least
    recently written sessions go first).
    """

    def __init__(
        self,
        layout: SessionLayout,
        *,
        per_session: int = 64,
        max_sessions: int = 100_000,
        max_writes: int = 200_000,
    ) -> None:
        self.layout = layout
        self.per_session = per_session
        self.max_sessions = max_sessions
        self.max_writes = max_writes
        self.writes = 0
        """Session writes recorded."""
        self._sessions: OrderedDict[SessionRef, _History] = OrderedDict()
        self._nodes: dict[str, _NodeState] = {}
        self._seq = 0
        self._held = 0
        """Writes held now, all sessions together."""

    def history(self, ref: SessionRef) -> _History | None:
        """What is known of one session (internal to attribution)."""
        return self._sessions.get(ref)

    def _history(self, ref: SessionRef) -> _History:
        history = self._sessions.get(ref)
        if history is None:
            history = _History(deque(maxlen=self.per_session))
            self._sessions[ref] = history
        else:
            self._sessions.move_to_end(ref)
        return history

    def _append(self, history: _History, write: SessionWrite) -> None:
        held = len(history.writes)
        history.writes.append(write)
        self._held += len(history.writes) - held
        while self._sessions and (
            len(self._sessions) > self.max_sessions or self._held > self.max_writes
        ):
            _, gone = self._sessions.popitem(last=False)
            self._held -= len(gone.writes)

    def clear(self) -> None:
        """Forget every write (MONITOR stopped: what it saw can no longer be trusted)."""
        self._sessions.clear()
        self._nodes.clear()
        self._held = 0

    def reset_node(self, node: str) -> None:
        """Lines may be missing (a reconnect, skipped lines): forget the running script."""
        self._nodes.pop(node, None)

    def record(self, node: str, command: MonitorCommand) -> bool:
        """Record a command if it writes a session; returns whether it did."""
        name = command.name
        state = self._nodes.get(node)
        if name in SCRIPT_COMMANDS:
            if state is None:
                state = self._nodes[node] = _NodeState()
            state.script_caller = command.client
            return False
        if name not in SESSION_WRITE_COMMANDS:
            return False
        args = command.args
        if name in _ALL_KEY_WRITES:
            keys: Sequence[bytes] = args[1:]
        elif name in _TWO_KEY_WRITES:
            keys = args[1:3]
        else:
            keys = args[1:2]
        refs = {ref for ref in map(self.layout.session_of, keys) if ref is not None}
        if not refs:
            return False
        client, by_script = command.client, False
        if command.from_script:
            by_script = True
            client = state.script_caller if state and state.script_caller else command.client
        stamp = self.layout.access_stamp(command)
        for ref in sorted(refs):
            self._seq += 1
            self.writes += 1
            write = SessionWrite(
                self._seq, command.time_us, node, client, name.decode("ascii"), stamp, by_script
            )
            self._append(self._history(ref), write)
        return True

    def take(
        self, ref: SessionRef, stamp: int | None, *, commands: Collection[str] | None = None
    ) -> SessionWrite | None:
        """The write behind an event of ``ref`` with this stamp; marks it (and older) used.

        Among the writes not used yet (and among ``commands``, when given): the
        newest that set ``stamp``; else, when those writes show no stamps at
        all, the newest. ``None`` when MONITOR saw no such write (none since
        the last event, or the writes show stamps and not this one: its write
        was skipped or pushed out by a burst).
        """
        history = self._sessions.get(ref)
        if history is None:
            return None
        fresh = [
            write
            for write in history.writes
            if write.seq > history.consumed and (commands is None or write.command in commands)
        ]
        if not fresh:
            return None
        chosen: SessionWrite | None = fresh[-1]
        if stamp is not None:
            matching = [write for write in fresh if write.stamp == stamp]
            if matching:
                chosen = matching[-1]
            elif any(write.stamp is not None for write in fresh):
                chosen = None
        if chosen is None:
            return None
        history.consumed = chosen.seq
        writes = history.writes
        while writes and writes[0].seq <= chosen.seq:  # used: no later event can be theirs
            writes.popleft()
            self._held -= 1
        return chosen


# ----------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class AttributedRequest:
    """A request event with the container that served it, named, and how."""

    event: RequestEvent
    container: ContainerName | None
    """``None``: nothing says (no host attribute, no write seen)."""
    previous: ContainerName | None
    """The container of the session's previous event, by the same attribution."""
    host_disagrees: bool = False
    """The session's host attribute names a different container than the connection."""

    @property
    def via(self) -> NameSource | None:
        """Where the container's name came from."""
        return self.container.source if self.container else None

    def to_json(self) -> dict[str, JsonValue]:
        """The ``watch --json`` form: the event's fields, ``host`` the attributed container.

        Added: ``via`` (:class:`NameSource` value or ``null``), ``address`` (the
        connection), ``hostAttribute`` (what the session itself says) and
        ``hostDisagrees``.
        """
        out = self.event.to_json()
        out["host"] = self.container.name if self.container else None
        out["previousHost"] = self.previous.name if self.previous else None
        out["via"] = self.via.value if self.via else None
        out["address"] = self.container.address if self.container else None
        out["hostAttribute"] = self.event.host
        out["hostDisagrees"] = self.host_disagrees
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """The write chosen for an event, before the connection is named."""

    event: RequestEvent
    ref: SessionRef | None
    write: SessionWrite | None


class Attributor:
    """Ties request events to the connections that wrote them, and names those.

    Fed by MONITOR readers (:meth:`observe`, one call per parsed chunk and
    node), asked by the feed's consumer (:meth:`decide` then :meth:`finish`
    for each event, after a sync). Without MONITOR, :meth:`by_host` gives the
    same kind of answer from the session's host attribute.

    Args:
        layout: Which keys are sessions (by default Spring's, then every other
            framework's adapter: :func:`default_layout`).
        namer: Names connections; a plain one (no map, DNS on) by default.
        per_session: Writes held per session (between two of its events).
        max_sessions: Sessions remembered (least recently written go first).
    """

    def __init__(
        self,
        layout: SessionLayout | None = None,
        namer: ConnectionNamer | None = None,
        *,
        per_session: int = 64,
        max_sessions: int = 100_000,
    ) -> None:
        self.layout: SessionLayout = layout or default_layout()
        self.namer = namer or ConnectionNamer()
        self.log = WriteLog(self.layout, per_session=per_session, max_sessions=max_sessions)
        self.max_sessions = max_sessions
        self._last: OrderedDict[str, ContainerName] = OrderedDict()
        """Event key -> container of its previous event (for the attribute fallback too)."""

    def observe(self, node: str, commands: Iterable[MonitorCommand]) -> list[bytes]:
        """Take in parsed MONITOR commands of one node; returns the sync markers among them."""
        markers: list[bytes] = []
        for command in commands:
            name = command.name
            if name == b"echo":
                if len(command.args) == 2 and command.args[1].startswith(SYNC_PREFIX):
                    markers.append(command.args[1])
                continue
            if name in _NAMING_COMMANDS:
                self._learn_name(node, command)
                continue
            self.log.record(node, command)
        return markers

    def _learn_name(self, node: str, command: MonitorCommand) -> None:
        args = [arg.lower() if index < 2 else arg for index, arg in enumerate(command.args)]
        name: bytes | None = None
        if len(args) == 3 and args[1] == b"setname":
            name = command.args[2]
        elif args and args[0] == b"hello":
            for index in range(2, len(args) - 1):
                if args[index].lower() == b"setname":
                    name = command.args[index + 1]
        if name is not None:
            self.namer.learn_name(node, command.client, name.decode("utf-8", "replace"))

    def decide(self, event: RequestEvent) -> Decision:
        """Choose the write behind ``event`` (call once per event, in order)."""
        ref = self.layout.session_of(event.key.encode("utf-8", "surrogateescape"))
        write = None
        if ref is not None:
            if event.kind is EventKind.DESTROYED:
                # Deleted by someone, or expired (no write at all): only a
                # delete can have destroyed it.
                write = self.log.take(ref, None, commands=_DELETES)
            else:
                write = self.log.take(ref, event.last_accessed_time)
        return Decision(event, ref, write)

    def finish(self, decision: Decision) -> AttributedRequest:
        """Name the connection behind a decision (after DNS and CLIENT LIST are in)."""
        event, write = decision.event, decision.write
        if write is None:
            return self.by_host(event)
        container = self.namer.name(write.node, write.client)
        disagrees = False
        if event.host:
            disagrees = event.host.lower() not in self.namer.aliases(write.node, write.client)
        return AttributedRequest(event, container, self._remember(event, container), disagrees)

    def by_host(self, event: RequestEvent) -> AttributedRequest:
        """The host attribute's answer (no MONITOR, or it saw nothing for this event)."""
        container = ContainerName(event.host, NameSource.ATTRIBUTE) if event.host else None
        previous = self._remember(event, container)
        if previous is None and event.previous_host:
            previous = ContainerName(event.previous_host, NameSource.ATTRIBUTE)
        return AttributedRequest(event, container, previous)

    def _remember(
        self, event: RequestEvent, container: ContainerName | None
    ) -> ContainerName | None:
        """The session's previous container; ``container`` becomes the new one."""
        previous = self._last.pop(event.key, None)
        if container is not None and event.kind is not EventKind.DESTROYED:
            self._last[event.key] = container
            if len(self._last) > self.max_sessions:
                self._last.popitem(last=False)
        return previous

    def lookups(self, decisions: Iterable[Decision]) -> tuple[set[str], set[str]]:
        """What to fetch before :meth:`finish`: (nodes to re-list, IPs to resolve).

        A node is re-listed when a chosen write came from a connection that
        neither ``CLIENT LIST`` nor MONITOR has named or listed yet.
        """
        nodes: set[str] = set()
        ips: set[str] = set()
        for decision in decisions:
            write = decision.write
            if write is None:
                continue
            if not self.namer.knows(write.node, write.client) and split_address(write.client):
                nodes.add(write.node)
            ip = self.namer.dns_wanted(write.node, write.client)
            if ip is not None:
                ips.add(ip)
        return nodes, ips


# ----------------------------------------------------------------- notices


class AttributionNoticeKind(StrEnum):
    """What an attribution notice is about."""

    ATTACHED = "attached"
    """MONITOR runs on a primary (again)."""
    REFUSED = "refused"
    """MONITOR is refused: requests are attributed by the host attribute."""
    BEHIND = "behind"
    """The reader fell behind the server and skips lines to catch up."""
    CAUGHT_UP = "caught-up"
    """Reading at the server's pace again; ``dropped`` lines were skipped."""
    LOST = "lost"
    """The MONITOR connection closed (output buffer limit, CLIENT KILL, network)."""
    TOPOLOGY = "topology"
    """The cluster's primaries changed: MONITOR follows them."""
    NAMES = "names"
    """How connections can be named here (e.g. CLIENT LIST refused)."""


@dataclass(frozen=True, slots=True)
class AttributionNotice:
    """Something to tell the user about attribution by connection."""

    time_ms: int
    kind: AttributionNoticeKind
    message: str
    node: str | None = None
    dropped: int = 0
    """MONITOR lines skipped (BEHIND, CAUGHT_UP, LOST)."""


AttributedItem = SourceItem | AttributedRequest | AttributionNotice
"""What an attributed stream yields: the source's items, request events attributed."""
