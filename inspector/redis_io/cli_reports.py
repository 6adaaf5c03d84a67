"""The text of redis-cli's key and server modes, byte for byte (pure: no I/O).

:mod:`inspector.redis_io.cli_modes` talks to the servers; everything here turns
what it read into the lines redis-cli 7.0 prints (``src/redis-cli.c``:
``findBigKeys``, ``findHotKeys``, ``statMode``, ``latencyMode``,
``latencyDistMode``), plus ``--keystats`` as redis-cli 7.4 prints it (the
installed redis-cli 7.0 does not have it).

One detail needs care: redis-cli prints its per-type summary in the order of
its own hash table (a Redis ``dict`` keyed by the type name, hashed with
SipHash-1-2 and a zero seed, rehashed incrementally by each lookup), which
differs between an empty and a non-empty keyspace. :class:`RedisDictOrder`
replays that table, so the summary comes out in redis-cli's order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "BIGKEYS_HEADER",
    "HOTKEYS_HEADER",
    "HOTKEYS_SAMPLE",
    "KEYSTATS_HEADER",
    "LATENCY_DIST_BUCKETS",
    "STAT_HEADER",
    "BigKeys",
    "HotKeys",
    "KeyStats",
    "LatencyStats",
    "RedisDictOrder",
    "TypeInfo",
    "bytes_to_human",
    "latency_dist_legend",
    "latency_dist_line",
    "latency_line",
    "siphash",
    "stat_line",
]

BIGKEYS_HEADER = (
    b"\n# Scanning the entire keyspace to find biggest keys as well as\n"
    b"# average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n"
    b"# per 100 SCAN commands (not usually needed).\n\n"
)
HOTKEYS_HEADER = (
    b"\n# Scanning the entire keyspace to find hot keys as well as\n"
    b"# average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n"
    b"# per 100 SCAN commands (not usually needed).\n\n"
)
KEYSTATS_HEADER = (
    b"\n# Scanning the entire keyspace to find the biggest keys and distribution information.\n"
    b"# Use -i 0.1 to sleep 0.1 sec per 100 SCAN commands (not usually needed).\n"
    b"# Use --cursor <n> to start the scan at the cursor <n> (usually after a Ctrl-C).\n"
    b"# Use --top <n> to display <n> top key sizes (default is 10).\n"
    b"# Ctrl-C to stop the scan.\n\n"
)
STAT_HEADER = (
    b"------- data ------ --------------------- load -------------------- - child -\n"
    b"keys       mem      clients blocked requests            connections          \n"
)
HOTKEYS_SAMPLE = 16


# ---------------------------------------------------------------- helpers


def _pct(part: float, whole: float) -> float:
    """``100 * (double)part/whole`` as C computes it (0/0 is nan, x/0 is inf)."""
    if whole == 0:
        return math.nan if part == 0 else math.inf
    return 100 * part / whole


def _c_float(value: float, spec: str) -> bytes:
    """A float through a printf spec, as glibc prints it.

    ``nan``/``inf`` are padded with spaces, never zeros (Python writes ``00nan``).
    """
    if not math.isfinite(value):
        spec = spec.replace("%0", "%")
    return (spec % value).encode("ascii")


def bytes_to_human(n: int, *, terabytes: bool = False) -> bytes:
    """redis-cli's ``bytesToHuman``: ``100B``, ``4.03K``, ``2.32M``, ``1.00G``.

    Args:
        n: A number of bytes (negative ones keep their sign).
        terabytes: redis-cli 7.4's version, which adds ``T`` (``--keystats``);
            7.0's prints nothing from 1024 G on.
    """
    sign = b"-" if n < 0 else b""
    n = abs(n)
    if n < 1024:
        return sign + b"%dB" % n
    for power, unit in ((2, b"K"), (3, b"M"), (4, b"G"), (5, b"T")):
        if unit == b"T" and not terabytes:
            break
        if n < 1024**power:
            return sign + b"%.2f" % (n / 1024 ** (power - 1)) + unit
    return sign


def _repr(key: bytes) -> bytes:
    # sdscatrepr, imported lazily to keep this module free of cycles.
    from inspector.redis_io.redis_cli import quote

    return quote(key)


# ---------------------------------------------------------------- Redis dict order


_MASK = 2**64 - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK


def siphash(data: bytes, key: bytes = bytes(16)) -> int:
    """SipHash-1-2 as Redis' ``siphash()`` computes it (``src/siphash.c``)."""
    k0 = int.from_bytes(key[:8], "little")
    k1 = int.from_bytes(key[8:16], "little")
    v0 = 0x736F6D6570736575 ^ k0
    v1 = 0x646F72616E646F6D ^ k1
    v2 = 0x6C7967656E657261 ^ k0
    v3 = 0x7465646279746573 ^ k1

    def rounds(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
        v0 = (v0 + v1) & _MASK
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & _MASK
        v3 = _rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & _MASK
        v3 = _rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & _MASK
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)
        return v0, v1, v2, v3

    end = len(data) - len(data) % 8
    for offset in range(0, end, 8):
        m = int.from_bytes(data[offset : offset + 8], "little")
        v3 ^= m
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3)
        v0 ^= m
    b = (len(data) << 56) & _MASK
    b |= int.from_bytes(data[end:], "little")
    v3 ^= b
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3)
    v0 ^= b
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3)
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


class RedisDictOrder:
    """The iteration order of a Redis 7.0 ``dict`` of names, replayed (``src/dict.c``).

    Only what redis-cli's type table does is modelled: ``dictAdd`` of new
    names (bucket heads, expansion at a 1:1 load), ``dictFind`` (one step of
    incremental rehashing each) and a plain iterator (table 0, then table 1
    while rehashing).
    """

    def __init__(self) -> None:
        self._tables: list[list[list[bytes]]] = [[], []]
        self._used = [0, 0]
        self._rehash_index = -1

    def _rehashing(self) -> bool:
        return self._rehash_index != -1

    def _rehash_step(self) -> None:
        empty_visits = 10
        if self._used[0] == 0:
            return
        old, new = self._tables
        while not old[self._rehash_index]:
            self._rehash_index += 1
            empty_visits -= 1
            if empty_visits == 0:
                return
        for name in old[self._rehash_index]:  # head first, each pushed on the new head
            new[siphash(name) & (len(new) - 1)].insert(0, name)
            self._used[0] -= 1
            self._used[1] += 1
        old[self._rehash_index] = []
        self._rehash_index += 1
        if self._used[0] == 0:
            self._tables = [new, []]
            self._used = [self._used[1], 0]
            self._rehash_index = -1

    def _expand(self, size: int) -> None:
        exp = max(2, (size - 1).bit_length())
        table: list[list[bytes]] = [[] for _ in range(1 << exp)]
        if not self._tables[0]:
            self._tables[0] = table
            return
        if len(table) == len(self._tables[0]):
            return
        self._tables[1] = table
        self._rehash_index = 0

    def add(self, name: bytes) -> None:
        """``dictAdd`` of a name not yet in the table."""
        if self._rehashing():
            self._rehash_step()
        if not self._rehashing():
            if not self._tables[0]:
                self._expand(4)
            elif self._used[0] >= len(self._tables[0]):
                self._expand(self._used[0] + 1)
        table = 1 if self._rehashing() else 0
        buckets = self._tables[table]
        buckets[siphash(name) & (len(buckets) - 1)].insert(0, name)
        self._used[table] += 1

    def find(self) -> None:
        """A ``dictFind``: only its rehashing step matters for the order."""
        if self._rehash_index != -1 and self._used[0] + self._used[1]:
            self._rehash_step()

    def __iter__(self) -> Iterator[bytes]:
        for table in self._tables[: 2 if self._rehashing() else 1]:
            for bucket in table:
                yield from bucket


# ---------------------------------------------------------------- --bigkeys / --memkeys


@dataclass(slots=True)
class TypeInfo:
    """redis-cli's ``typeinfo``: one key type's totals and its biggest key."""

    name: bytes
    size_command: bytes | None
    """``STRLEN``, ``LLEN``...; ``None`` for module types (no size in --bigkeys)."""
    unit: bytes
    biggest: int = 0
    count: int = 0
    total: int = 0
    biggest_key: bytes | None = None
    """The biggest key, already quoted as redis-cli prints it."""


_BUILTIN_TYPES = (
    (b"string", b"STRLEN", b"bytes"),
    (b"list", b"LLEN", b"items"),
    (b"set", b"SCARD", b"members"),
    (b"hash", b"HLEN", b"fields"),
    (b"zset", b"ZCARD", b"members"),
    (b"stream", b"XLEN", b"entries"),
)


class _TypeTable:
    """The type table of ``findBigKeys``/``keyStats``, in redis-cli's hash table order."""

    def __init__(self) -> None:
        self.order = RedisDictOrder()
        self.types: dict[bytes, TypeInfo] = {}
        for name, command, unit in _BUILTIN_TYPES:
            self._add(TypeInfo(name, command, unit))

    def _add(self, info: TypeInfo) -> TypeInfo:
        self.types[info.name] = info
        self.order.add(info.name)
        return info

    def lookup(self, type_name: bytes) -> TypeInfo | None:
        """``getKeyTypes`` for one TYPE reply.

        Returns the entry, a new one for a module type, ``None`` for ``none``
        (the key is gone).
        """
        self.order.find()
        info = self.types.get(type_name)
        if info is None and type_name != b"none":
            info = self._add(TypeInfo(type_name, None, b"?"))
        return info

    def __iter__(self) -> Iterator[TypeInfo]:
        for name in self.order:
            yield self.types[name]


def _summary_head(sampled: int, last_percent: bytes, *, interrupted: bool) -> bytearray:
    """How redis-cli starts the summary of ``--bigkeys``/``--memkeys`` and ``--hotkeys``.

    After Ctrl-C it says first the percentage the scan had reached.
    """
    out = bytearray(b"\n-------- summary -------\n\n")
    if interrupted:
        out += b"[%s%%] " % last_percent
    out += b"Sampled %d keys in the keyspace!\n" % sampled
    return out


class BigKeys:
    """``--bigkeys`` (element counts) or ``--memkeys`` (``MEMORY USAGE``) as redis-cli runs them.

    Feed it each SCAN page's keys, TYPE replies and sizes; it returns the
    progress lines redis-cli prints and, at the end, the summary.

    Args:
        total_keys: DBSIZE before the scan (the sum over primaries in a cluster).
        memkeys: ``--memkeys``: sizes are bytes of memory.
    """

    def __init__(self, total_keys: int, *, memkeys: bool) -> None:
        self.total_keys = total_keys
        self.memkeys = memkeys
        self.table = _TypeTable()
        self.sampled = 0
        self.total_length = 0
        self.last_percent = _c_float(self.percent(), "%05.2f")
        """The percentage printed for the last page (redis-cli's ``pct`` when interrupted)."""

    def types(self, type_names: Sequence[bytes]) -> list[TypeInfo | None]:
        """The type entries of a page's TYPE replies (``None``: the key vanished)."""
        return [self.table.lookup(name) for name in type_names]

    def wants_size(self, info: TypeInfo | None) -> bool:
        """Whether redis-cli asks this key's size (not for vanished keys or module types)."""
        return info is not None and (self.memkeys or info.size_command is not None)

    def percent(self) -> float:
        """The completion redis-cli shows before the next SCAN page."""
        return _pct(self.sampled, self.total_keys)

    def add_page(
        self, keys: Sequence[bytes], types: Sequence[TypeInfo | None], sizes: Sequence[int]
    ) -> bytes:
        """Account for one SCAN page; returns the progress lines printed for it.

        Args:
            keys: The page's key names.
            types: :meth:`types` of their TYPE replies.
            sizes: Each key's size (0 where none was asked or it failed).
        """
        pct = _c_float(self.percent(), "%05.2f")
        self.last_percent = pct
        out = bytearray()
        for key, info, size in zip(keys, types, sizes, strict=True):
            if info is None:
                continue
            info.total += size
            info.count += 1
            self.total_length += len(key)
            self.sampled += 1
            if info.biggest < size:
                info.biggest_key = _repr(key)
                out += b"[%s%%] Biggest %-6s found so far '%s' with %d %s\n" % (
                    pct,
                    info.name,
                    info.biggest_key,
                    size,
                    b"bytes" if self.memkeys else info.unit,
                )
                info.biggest = size
            if self.sampled % 1_000_000 == 0:
                out += b"[%s%%] Sampled %d keys so far\n" % (pct, self.sampled)
        return bytes(out)

    def summary(self, *, interrupted: bool = False) -> bytes:
        """The ``-------- summary -------`` part, as redis-cli prints it."""
        out = _summary_head(self.sampled, self.last_percent, interrupted=interrupted)
        average = self.total_length / self.sampled if self.total_length else 0.0
        out += b"Total key length in bytes is %d (avg len %.2f)\n\n" % (self.total_length, average)
        for info in self.table:
            if info.biggest_key is not None:
                out += b"Biggest %6s found '%s' has %d %s\n" % (
                    info.name,
                    info.biggest_key,
                    info.biggest,
                    b"bytes" if self.memkeys else info.unit,
                )
        out += b"\n"
        for info in self.table:
            share = 100 * info.count / self.sampled if self.sampled else 0.0
            average = info.total / info.count if info.count else 0.0
            out += b"%d %ss with %d %s (%s%% of keys, avg size %.2f)\n" % (
                info.count,
                info.name,
                info.total,
                b"bytes" if self.memkeys else info.unit,
                _c_float(share, "%05.2f"),
                average,
            )
        return bytes(out)


# ---------------------------------------------------------------- --hotkeys


class HotKeys:
    """``--hotkeys``: redis-cli's 16-slot eviction pool of the highest ``OBJECT FREQ`` counters."""

    def __init__(self, total_keys: int) -> None:
        self.total_keys = total_keys
        self.sampled = 0
        self.last_percent = _c_float(self.percent(), "%05.2f")
        """The percentage printed for the last page (redis-cli's ``pct`` when interrupted)."""
        self.counters = [0] * HOTKEYS_SAMPLE
        self.keys: list[bytes | None] = [None] * HOTKEYS_SAMPLE

    def percent(self) -> float:
        """The completion redis-cli shows before the next SCAN page."""
        return _pct(self.sampled, self.total_keys)

    def add_page(self, keys: Sequence[bytes], freqs: Sequence[int]) -> bytes:
        """Account for one page's counters; returns the lines printed for it."""
        pct = self.last_percent = _c_float(self.percent(), "%05.2f")
        out = bytearray()
        for key, freq in zip(keys, freqs, strict=True):
            self.sampled += 1
            if self.sampled % 1_000_000 == 0:
                out += b"[%s%%] Sampled %d keys so far\n" % (pct, self.sampled)
            k = 0
            while k < HOTKEYS_SAMPLE and freq > self.counters[k]:
                k += 1
            if k == 0:
                continue
            k -= 1
            if not (k == 0 or self.counters[k] == 0):
                # Shift the smaller counters down, dropping the smallest.
                self.counters[:k] = self.counters[1 : k + 1]
                self.keys[:k] = self.keys[1 : k + 1]
            self.counters[k] = freq
            self.keys[k] = _repr(key)
            out += b"[%s%%] Hot key '%s' found so far with counter %d\n" % (
                pct,
                self.keys[k],
                freq,
            )
        return bytes(out)

    def summary(self, *, interrupted: bool = False) -> bytes:
        """The summary: each hot key with its counter, highest first."""
        out = _summary_head(self.sampled, self.last_percent, interrupted=interrupted)
        for k in reversed(range(HOTKEYS_SAMPLE)):
            key = self.keys[k]
            if self.counters[k] > 0 and key is not None:
                out += b"hot key found with counter: %d\tkeyname: %s\n" % (self.counters[k], key)
        return bytes(out)


# ---------------------------------------------------------------- --keystats (redis-cli 7.4)


class _SizeHistogram:
    """The part of HdrHistogram (1 to 1 TiB, 4 significant figures) ``--keystats`` prints.

    Sizes below 32768 are exact; above, they fall in buckets of 0.01%.
    """

    _SUB_BUCKET_HALF_MAGNITUDE = 14  # ceil(log2(2 * 10**4)) - 1
    _SUB_BUCKET_COUNT = 1 << 15
    _SUB_BUCKET_MASK = (1 << 15) - 1

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.total = 0

    def _bucket(self, value: int) -> tuple[int, int]:
        bucket = (value | self._SUB_BUCKET_MASK).bit_length() - (
            self._SUB_BUCKET_HALF_MAGNITUDE + 1
        )
        return bucket, value >> bucket

    def lowest_equivalent(self, value: int) -> int:
        bucket, sub = self._bucket(value)
        return sub << bucket

    def range_size(self, value: int) -> int:
        bucket, sub = self._bucket(value)
        return 1 << (bucket + 1 if sub >= self._SUB_BUCKET_COUNT else bucket)

    def highest_equivalent(self, value: int) -> int:
        return self.lowest_equivalent(value) + self.range_size(value) - 1

    def median_equivalent(self, value: int) -> int:
        return self.lowest_equivalent(value) + (self.range_size(value) >> 1)

    def record(self, value: int) -> None:
        low = self.lowest_equivalent(max(value, 0))
        self.counts[low] = self.counts.get(low, 0) + 1
        self.total += 1

    def mean(self) -> float:
        if not self.total:
            return 0.0
        total = sum(self.median_equivalent(v) * c for v, c in self.counts.items())
        return total / self.total

    def stddev(self) -> float:
        if not self.total:
            return 0.0
        mean = self.mean()
        squares = sum(c * (self.median_equivalent(v) - mean) ** 2 for v, c in self.counts.items())
        return math.sqrt(squares / self.total)

    def percentiles(self) -> list[tuple[int, float, int]]:
        """``hdr_iter_percentile`` (one tick per half distance) as redis-cli prints it.

        Returns ``(value, percentile, cumulative count)`` rows, one per new
        cumulative count, 100% last.
        """
        rows: list[tuple[int, float, int]] = []
        target = 0.0
        cumulative = 0
        for value in sorted(self.counts):
            cumulative += self.counts[value]
            current = 100.0 * cumulative / self.total
            if target > current:
                continue
            shown = 100.0 if cumulative == self.total else target
            rows.append((self.highest_equivalent(value), shown, cumulative))
            # Later percentiles at this value repeat its count: redis-cli skips them.
            while target <= current and target < 100.0:
                ticks = 2 ** (int(math.log(100 / (100.0 - target)) / math.log(2)) + 1)
                target += 100.0 / ticks
            if target >= 100.0 and cumulative < self.total:
                target = 100.0
        return rows


_KEY_LENGTH_BUCKETS = (1 << 5, 1 << 8, 1 << 16, 1 << 20, 16 << 20, 128 << 20, 512 << 20)


@dataclass(slots=True)
class _KeyInfo:
    size: int
    type_name: bytes
    name: bytes  # quoted


class KeyStats:
    """``--keystats`` (redis-cli 7.4): memory and length per type, top sizes, distributions.

    Args:
        total_keys: DBSIZE before the scan.
        top: How many of the biggest keys to list (``--top``).
    """

    def __init__(self, total_keys: int, *, top: int = 10) -> None:
        self.total_keys = total_keys
        self.top_limit = top
        self.memory = _TypeTable()
        self.length = _TypeTable()
        self.sampled = 0
        self.total_size = 0
        self.top: list[_KeyInfo] = []
        self.histogram = _SizeHistogram()
        self.length_counts = [0] * (len(_KEY_LENGTH_BUCKETS) + 1)
        self.key_length_total = 0
        self.key_length_max = 0

    def add_page(
        self,
        keys: Sequence[bytes],
        memory_types: Sequence[TypeInfo | None],
        memory_sizes: Sequence[int],
        length_types: Sequence[TypeInfo | None],
        lengths: Sequence[int],
    ) -> None:
        """Account for one SCAN page (types from each table's lookups, and their sizes)."""
        for key, mtype, msize, ltype, length in zip(
            keys, memory_types, memory_sizes, length_types, lengths, strict=True
        ):
            if mtype is None or ltype is None:
                continue
            self.total_size += msize
            self.sampled += 1
            self._update_top(key, msize, mtype.name)
            _update_type(key, msize, mtype)
            _update_type(key, length, ltype)
            self.histogram.record(msize)
            self.key_length_total += len(key)
            self.key_length_max = max(self.key_length_max, len(key))
            index = next(
                (i for i, limit in enumerate(_KEY_LENGTH_BUCKETS) if len(key) <= limit),
                len(_KEY_LENGTH_BUCKETS),
            )
            self.length_counts[index] += 1

    def _update_top(self, key: bytes, size: int, type_name: bytes) -> None:
        if self.top_limit and len(self.top) == self.top_limit and size <= self.top[-1].size:
            return
        position = next((i for i, info in enumerate(self.top) if size > info.size), len(self.top))
        self.top.insert(position, _KeyInfo(size, type_name[:9], _repr(key)))
        if self.top_limit and len(self.top) > self.top_limit:
            self.top.pop()

    def _human(self, n: int) -> bytes:
        return bytes_to_human(n, terabytes=True)

    def progress(self, *, tty: bool) -> list[bytes]:
        """The progress bar lines, the key size and the top/per-type tables."""
        done = (
            (self.sampled / self.total_keys if self.sampled < self.total_keys else 1.0)
            if self.total_keys
            else 0.0
        )
        if tty:
            width = round(60 * done)
            bar = b"\x1b[32m" + b"|" * width + b"\x1b[31m" + b"-" * (60 - width) + b"\x1b[39m"
        else:
            bar = b"keys scanned"
        lines = [
            b"%6.2f%% %s" % (done * 100, bar),
            b"Keys sampled: %d" % self.sampled,
            b"Keys size:    %s" % self._human(self.total_size),
            b"",
            b"--- Top %d key sizes ---" % self.top_limit,
        ]
        for rank, top in enumerate(self.top, start=1):
            lines.append(
                b"%3d %8s %-10s %s" % (rank, self._human(top.size), top.type_name, top.name)
            )
        lines += [b"", b"--- Top size per type ---"]
        for info in self.memory:
            if info.biggest_key is not None:
                lines.append(
                    b"%-10s %s is %s" % (info.name, info.biggest_key, self._human(info.biggest))
                )
        lines += [b"", b"--- Top length and cardinality per type ---"]
        for info in self.length:
            if info.biggest_key is not None:
                amount = (
                    self._human(info.biggest)
                    if info.unit == b"bytes"
                    else b"%d %s" % (info.biggest, info.unit)
                )
                lines.append(b"%-10s %s has %s" % (info.name, info.biggest_key, amount))
        return lines

    def final(self, *, tty: bool, cursor: int) -> bytes:
        """Everything printed at the end: the tables, the distributions, the per-type totals."""
        lines = self.progress(tty=tty)
        lines += [b"", b"Key size Percentile Total keys", b"-------- ---------- -----------"]
        for value, percentile, count in self.histogram.percentiles():
            lines.append(b"%8s %9.4f%% %11d" % (self._human(value), percentile, count))
        lines.append(
            b"Note: 0.01%% size precision, Mean: %s, StdDeviation: %s"
            % (
                self._human(int(self.histogram.mean())),
                self._human(int(self.histogram.stddev())),
            )
        )
        lines += [
            b"",
            b"Key name length Percentile Total keys",
            b"--------------- ---------- -----------",
        ]
        seen = 0
        for limit, count in zip(_KEY_LENGTH_BUCKETS, self.length_counts, strict=False):
            if count:
                seen += count
                shown = min(self.key_length_max, limit)
                lines.append(
                    b"%15s %9.4f%% %11d" % (self._human(shown), 100 * seen / self.sampled, seen)
                )
        if seen < self.sampled:
            lines.append(b"           inf %9.4f%% %11d" % (100.0, self.sampled))
        average = self._human(self.key_length_total // self.sampled) if self.sampled else b"0"
        lines.append(
            b"Total key length is %s (%s avg)" % (self._human(self.key_length_total), average)
        )
        lines += [
            b"",
            b"Type        Total keys  Keys % Tot size Avg size  Total length/card Avg ln/card",
            b"--------- ------------ ------- -------- -------- ------------------ -----------",
        ]
        for memory in self.memory:
            if not memory.count:
                continue
            total_length = average_length = b" - "
            length = self.length.types.get(memory.name)
            if length is not None and length.size_command is not None and length.count:
                mean = length.total / length.count
                if length.unit == b"bytes":
                    total_length = self._human(length.total)
                    average_length = self._human(round(mean))
                else:
                    total_length = b"%d %s" % (length.total, length.unit)
                    average_length = b"%.2f" % mean
            lines.append(
                b"%-10s %11d %6.2f%% %8s %8s %18s %11s"
                % (
                    memory.name,
                    memory.count,
                    100 * memory.count / self.sampled if self.sampled else 0.0,
                    self._human(memory.total),
                    self._human(memory.total // memory.count),
                    total_length,
                    average_length,
                )
            )
        prefix = b"\x1b[2K\r" if tty else b""
        out = b"".join(prefix + line + b"\n" for line in lines)
        if cursor:
            out += (
                b"\nScan interrupted:\n"
                b"Use 'redis-cli --keystats --cursor %d' to restart from the last cursor.\n"
                % cursor
            )
        return out


def _update_type(key: bytes, size: int, info: TypeInfo) -> None:
    info.total += size
    info.count += 1
    if info.biggest < size:
        info.biggest_key = _repr(key)
        info.biggest = size


# ---------------------------------------------------------------- --stat


def _info_field(info: bytes, name: bytes) -> int | None:
    r"""``getLongInfoField``: the first occurrence of ``name`` anywhere, up to ``\r`` or ``,``."""
    at = info.find(name)
    if at < 0:
        return None
    start = at + len(name) + 1
    ends = [i for i in (info.find(b"\r", start), info.find(b",", start)) if i >= 0]
    text = info[start : min(ends)] if ends else info[start:]
    digits = text.strip()
    sign = 1
    if digits[:1] in (b"-", b"+"):
        sign = -1 if digits[:1] == b"-" else 1
        digits = digits[1:]
    number = b""
    for byte in digits:
        if 0x30 <= byte <= 0x39:
            number += bytes([byte])
        else:
            break
    return sign * int(number) if number else 0


def stat_line(info: bytes, previous_requests: int) -> tuple[bytes, int]:
    """One ``--stat`` line from an INFO reply.

    Args:
        info: The INFO payload.
        previous_requests: ``total_commands_processed`` of the previous line (0 at first).

    Returns:
        The line (newline included) and this line's ``total_commands_processed``.
    """

    def field(name: bytes) -> int:
        value = _info_field(info, name)
        return -(2**63) if value is None else value  # LONG_MIN, as redis-cli

    keys = sum(
        value for db in range(20) if (value := _info_field(info, b"db%d:keys" % db)) is not None
    )
    out = b"%-11s" % (b"%d" % keys)
    out += b"%-8s" % bytes_to_human(field(b"used_memory"))
    out += b" %-8s" % (b"%d" % field(b"connected_clients"))
    out += b"%-8s" % (b"%d" % field(b"blocked_clients"))
    requests = field(b"total_commands_processed")
    delta = 0 if previous_requests == 0 else requests - previous_requests
    out += b"%-19s" % (b"%d (+%d)" % (requests, delta))
    out += b" %-12s" % (b"%d" % field(b"total_connections_received"))
    children = (
        field(b"bgsave_in_progress")
        | field(b"aof_rewrite_in_progress") << 1
        | field(b"loading") << 2
    )
    out += {1: b"SAVE", 2: b"AOF", 3: b"SAVE+AOF", 4: b"LOAD"}.get(children, b"")
    return out + b"\n", requests


# ---------------------------------------------------------------- --latency


@dataclass(slots=True)
class LatencyStats:
    """min/max/avg of PING round trips in milliseconds, as ``latencyMode`` keeps them."""

    min: int = 0
    max: int = 0
    total: int = 0
    count: int = 0
    average: float = 0.0

    def add(self, latency: int) -> None:
        """One sample (whole milliseconds, as redis-cli's ``mstime()`` difference)."""
        self.count += 1
        if self.count == 1:
            self.min = self.max = self.total = latency
            self.average = float(latency)
        else:
            self.min = min(self.min, latency)
            self.max = max(self.max, latency)
            self.total += latency
            self.average = self.total / self.count

    def reset(self) -> None:
        """Start a new ``--latency-history`` range."""
        self.min = self.max = self.total = self.count = 0


def latency_line(stats: LatencyStats, mode: str) -> bytes:
    """``latencyModePrint``: the stats in the output mode's form (nothing for quoted JSON).

    Args:
        stats: The samples so far.
        mode: ``standard``, ``raw``, ``csv``, ``json`` or ``quoted-json``.
    """
    args = (stats.min, stats.max, stats.average, stats.count)
    if mode == "standard":
        return b"min: %d, max: %d, avg: %.2f (%d samples)" % args
    if mode == "csv":
        return b"%d,%d,%.2f,%d\n" % args
    if mode == "raw":
        return b"%d %d %.2f %d\n" % args
    if mode == "json":
        return b'{"min": %d, "max": %d, "avg": %.2f, "count": %d}\n' % args
    return b""


LATENCY_DIST_BUCKETS: tuple[tuple[int, bytes], ...] = (
    (10, b"."),
    (125, b"-"),
    (250, b"*"),
    (500, b"#"),
    (1000, b"1"),
    (2000, b"2"),
    (3000, b"3"),
    (4000, b"4"),
    (5000, b"5"),
    (6000, b"6"),
    (7000, b"7"),
    (8000, b"8"),
    (9000, b"9"),
    (10000, b"A"),
    (20000, b"B"),
    (30000, b"C"),
    (40000, b"D"),
    (50000, b"E"),
    (100000, b"F"),
    (200000, b"G"),
    (300000, b"H"),
    (400000, b"I"),
    (500000, b"J"),
    (1000000, b"K"),
    (2000000, b"L"),
    (4000000, b"M"),
    (8000000, b"N"),
    (16000000, b"O"),
    (30000000, b"P"),
    (60000000, b"Q"),
    (0, b"?"),
)
"""``latencyDistMode``'s buckets: the highest latency in microseconds each holds
(0: everything above a minute) and its character."""
_PALETTE_COLOR = (
    *(0, 233, 234, 235, 237, 239, 241, 243, 245, 247),
    *(144, 143, 142, 184, 226, 214, 208, 202, 196),
)
_PALETTE_MONO = (0, 233, 234, 235, 237, 239, 241, 243, 245, 247, 249, 251, 253)


def latency_dist_bucket(latency_us: int) -> int:
    """The bucket index of one sample (microseconds)."""
    for index, (highest, _) in enumerate(LATENCY_DIST_BUCKETS):
        if highest == 0 or latency_us <= highest:
            return index
    return len(LATENCY_DIST_BUCKETS) - 1  # pragma: no cover - the last bucket takes all


def latency_dist_line(counts: Sequence[int], total: int, *, mono: bool = False) -> bytes:
    """``showLatencyDistSamples``: one spectrum line.

    Each bucket's character on a background whose intensity is its share of
    the samples.
    """
    palette = _PALETTE_MONO if mono else _PALETTE_COLOR
    out = bytearray(b"\x1b[38;5;0m")
    for count, (_, character) in zip(counts, LATENCY_DIST_BUCKETS, strict=True):
        index = math.ceil(count / total * (len(palette) - 1))
        out += b"\x1b[48;5;%dm%s" % (palette[index], character)
    return bytes(out) + b"\x1b[0m\n"


def latency_dist_legend(*, mono: bool = False) -> bytes:
    """``showLatencyDistLegend``: what the characters and the shades mean."""
    palette = _PALETTE_MONO if mono else _PALETTE_COLOR
    shades = b"".join(b"\x1b[48;5;%dm " % color for color in palette)
    return (
        b"---------------------------------------------\n"
        b". - * #          .01 .125 .25 .5 milliseconds\n"
        b"1,2,3,...,9      from 1 to 9     milliseconds\n"
        b"A,B,C,D,E        10,20,30,40,50  milliseconds\n"
        b"F,G,H,I,J        .1,.2,.3,.4,.5       seconds\n"
        b"K,L,M,N,O,P,Q,?  1,2,4,8,16,30,60,>60 seconds\n"
        b"From 0 to 100%: " + shades + b"\x1b[0m\n"
        b"---------------------------------------------\n"
    )
