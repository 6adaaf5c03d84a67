"""The keyspace as a tree by a delimiter, over a compact sorted index of key names (pure).

A key browser needs, for any prefix, "how many keys are under it" and "its
children, a page at a time" (folders ``user:``, ``session:`` with their key
counts, and keys), for a million keys or more, while SCAN is still feeding it.
Nothing here keeps a node per key: :class:`KeyIndex` holds the names once,
sorted, in chunks of a few tens of thousands; :class:`KeyTree` computes a
folder's children on demand by jumping from one child to the next with binary
searches, so a page costs ``O(page * log n)`` whatever the folder's size, and
changing the delimiter costs nothing.

Keys arrive in batches (SCAN pages) in any order, possibly twice (SCAN may
return a key twice while the server rehashes). A batch is sorted and handed to
the chunks it belongs to; a chunk merges its new keys (dropping duplicates)
when enough have gathered or when a query reads it, so no single step costs
more than one chunk's merge. Memory is the names themselves plus a pointer
each: about 70 bytes for a 30-byte name, 71 MB for a million session-shaped keys
(benchmarks/bench_keys.py).
"""

from __future__ import annotations

import itertools
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["DEFAULT_DELIMITER", "KeyIndex", "KeyTree", "TreeNode", "prefix_upper_bound"]

DEFAULT_DELIMITER = b":"

_CHUNK_MAX = 8192
"""A chunk this long is split in two: merges and splits stay bounded.

One merge (a sort holding the GIL) is the longest step a scan feeding the
index takes. 1M session-shaped keys in pages of 1000, one add each (idle
core): at 16k names p99 10.1 ms, max 11.8 ms, twice that on a busy core (the
TUI's 20 ms budget gone); at 8k p99 3.6 ms, max 4.1 ms, for 30% more total
(more chunks to hand a page to); 64k names took 40-110 ms."""
_PENDING_MIN = 2048
"""New keys a chunk collects before it merges them (or a quarter of its size)."""


def prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest byte string after every string that starts with ``prefix``.

    ``b"user:"`` gives ``b"user;"``; a prefix of ``0xff`` bytes only has no
    bound (``None``: up to the end).
    """
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


class KeyIndex:
    """Key names, de-duplicated and sorted, in chunks; fed batch by batch.

    Counts and iteration are exact: a query first merges the new keys of the
    chunks it reads. :attr:`size` is exact only after :meth:`flush` (it may
    count a duplicate still waiting in a chunk).
    """

    def __init__(self) -> None:
        self._chunks: list[list[bytes]] = []
        self._maxes: list[bytes] = []
        self._pending: list[list[bytes]] = []
        self._waiting = 0

    # ------------------------------------------------------------ feeding

    def add(self, keys: Iterable[bytes]) -> None:
        """Add a batch of key names (a SCAN page); duplicates are dropped when merged."""
        batch = sorted(keys)
        if not batch:
            return
        if not self._chunks:
            unique = _unique_sorted(batch)
            self._chunks, self._maxes, self._pending = [unique], [unique[-1]], [[]]
            self._split(0)
            return
        start = 0
        last = len(self._chunks) - 1
        for index, highest in enumerate(self._maxes):
            end = len(batch) if index == last else bisect_right(batch, highest, start)
            if end > start:
                self._pending[index].extend(batch[start:end])
                self._waiting += end - start
                start = end
            if start == len(batch):
                break
        # Merge one chunk that gathered enough, the fullest: keys of a page
        # spread over every chunk, which then all reach the threshold together
        # and merged in one call held the event loop for 20-60 ms. One merge
        # (>= _PENDING_MIN keys) per page of SCAN_COUNT keys still drains the
        # backlog; queries merge what they read anyway.
        fullest = max(range(len(self._pending)), key=lambda i: len(self._pending[i]))
        pending = len(self._pending[fullest])
        if pending and pending >= max(_PENDING_MIN, len(self._chunks[fullest]) // 4):
            self._merge(fullest)

    def discard(self, key: bytes) -> bool:
        """Remove one key (the browser deleted it); ``False`` if it was not there."""
        if not self._chunks:
            return False
        index = self._merged_chunk_of(key)
        chunk = self._chunks[index]
        at = bisect_left(chunk, key)
        if at == len(chunk) or chunk[at] != key:
            return False
        del chunk[at]
        if chunk:
            self._maxes[index] = chunk[-1]
        elif len(self._chunks) > 1:
            del self._chunks[index], self._maxes[index], self._pending[index]
        else:
            self._chunks, self._maxes, self._pending = [], [], []
        return True

    def merge_step(self) -> bool:
        """Merge the waiting keys of one chunk; ``False`` when none was waiting.

        :meth:`flush` as bounded steps: a caller that must stay responsive (a
        UI's event loop) yields between calls.
        """
        for index, pending in enumerate(self._pending):
            if pending:
                self._merge(index)
                return True
        return False

    def flush(self) -> None:
        """Merge every waiting key: :attr:`size` is exact afterwards."""
        index = 0
        while index < len(self._chunks):
            if self._pending[index]:
                self._merge(index)
            index += 1

    def _merge(self, index: int) -> None:
        chunk = self._chunks[index]
        new = self._pending[index]
        self._pending[index] = []
        self._waiting -= len(new)
        before = len(chunk)
        chunk.extend(new)
        chunk.sort()  # a sorted run and a small unsorted one: cheap for timsort
        # SCAN may return a key twice: duplicates are neighbours now. Finding
        # them is one C-level pass; removing them (rare) a Python one.
        if any(map(operator.eq, chunk, itertools.islice(chunk, 1, None))):
            chunk[:] = _unique_sorted(chunk)
        if len(chunk) != before:
            self._maxes[index] = chunk[-1]
            self._split(index)

    def _split(self, index: int) -> None:
        chunk = self._chunks[index]
        if len(chunk) <= _CHUNK_MAX:
            return
        step = _CHUNK_MAX // 2
        pieces = [chunk[start : start + step] for start in range(0, len(chunk), step)]
        self._chunks[index : index + 1] = pieces
        self._maxes[index : index + 1] = [piece[-1] for piece in pieces]
        self._pending[index : index + 1] = [[] for _ in pieces]

    # ------------------------------------------------------------ reading

    @property
    def size(self) -> int:
        """How many keys were added (duplicates still waiting to merge included)."""
        return sum(map(len, self._chunks)) + self._waiting

    def __len__(self) -> int:
        self.flush()
        return sum(map(len, self._chunks))

    def _chunk_of(self, key: bytes) -> int:
        """The chunk a key belongs in (the last one for keys past every chunk)."""
        return min(bisect_left(self._maxes, key), len(self._chunks) - 1)

    def _merged_chunk_of(self, key: bytes) -> int:
        """:meth:`_chunk_of`, after that chunk merged its waiting keys."""
        index = self._chunk_of(key)
        while self._pending[index]:
            self._merge(index)  # may split the chunk: locate the key again
            index = self._chunk_of(key)
        return index

    def count(self, low: bytes, high: bytes | None) -> int:
        """How many keys are in ``[low, high)`` (``high=None``: to the end)."""
        if not self._chunks:
            return 0
        self._flush_range(low, high)
        first = self._chunk_of(low)
        last = len(self._chunks) - 1 if high is None else self._chunk_of(high)
        chunks = self._chunks

        def below(index: int) -> int:
            return len(chunks[index]) if high is None else bisect_left(chunks[index], high)

        if first == last:
            return max(0, below(first) - bisect_left(chunks[first], low))
        total = len(chunks[first]) - bisect_left(chunks[first], low)
        total += sum(len(chunk) for chunk in chunks[first + 1 : last])
        return total + below(last)

    def count_merged(self, low: bytes, high: bytes | None) -> int:
        """Keys in ``[low, high)`` counting only merged ones: a lower bound, merging nothing.

        Costs binary searches only, whatever is waiting; exact after :meth:`flush`.
        A screen shows it while a scan is feeding the index, where :meth:`count`
        would merge every chunk of the range at once.
        """
        if not self._chunks:
            return 0
        chunks = self._chunks
        first = self._chunk_of(low)
        last = len(chunks) - 1 if high is None else self._chunk_of(high)
        total = 0
        for index in range(first, last + 1):
            chunk = chunks[index]
            start = bisect_left(chunk, low) if index == first else 0
            end = len(chunk) if high is None or index != last else bisect_left(chunk, high)
            total += max(0, end - start)
        return total

    def count_prefix(self, prefix: bytes) -> int:
        """How many keys start with ``prefix``."""
        return self.count(prefix, prefix_upper_bound(prefix))

    def _flush_range(self, low: bytes, high: bytes | None) -> None:
        """Merge the waiting keys of every chunk that may hold keys in ``[low, high)``."""
        index = self._chunk_of(low)
        while index < len(self._chunks):
            if high is not None and index > 0 and self._maxes[index - 1] >= high:
                return  # this chunk and the next ones hold only keys from `high` on
            while self._pending[index]:
                self._merge(index)  # a split keeps the first half at `index`
            index += 1

    def seek(self, key: bytes) -> bytes | None:
        """The first key at or after ``key``, or ``None``."""
        if not self._chunks:
            return None
        index = self._merged_chunk_of(key)
        while index < len(self._chunks):
            chunk = self._chunks[index]
            at = bisect_left(chunk, key)
            if at < len(chunk):
                return chunk[at]
            # Only the last chunk can end before `key`; look further to be safe.
            index += 1
            while index < len(self._chunks) and self._pending[index]:
                self._merge(index)
        return None

    def peek(self, key: bytes) -> bytes | None:
        """:meth:`seek` without merging anything: the same answer, for a reader in a hurry.

        A chunk's waiting keys are looked through (one C-level pass) instead of
        merged: a tenth of a millisecond where a merge costs a few, so a screen
        can re-read a tree while a scan feeds the index.
        """
        index = self._chunk_of(key) if self._chunks else 0
        while index < len(self._chunks):
            chunk = self._chunks[index]
            at = bisect_left(chunk, key)
            best = chunk[at] if at < len(chunk) else None
            waiting = min(filter(key.__le__, self._pending[index]), default=None)
            if waiting is not None and (best is None or waiting < best):
                best = waiting
            if best is not None:
                return best  # every key of a later chunk, waiting or not, sorts after
            index += 1
        return None

    def iter_from(self, key: bytes = b"") -> Iterator[bytes]:
        """Every key at or after ``key``, in order.

        Each chunk is copied as it is reached, so keys added meanwhile (a scan
        still running) do not upset the iteration; they may or may not appear.
        """
        current = key
        while self._chunks:
            index = self._merged_chunk_of(current)
            chunk = self._chunks[index]
            yield from chunk[bisect_left(chunk, current) :]
            if index + 1 >= len(self._chunks):
                return
            # Resume just past this chunk's last key: the next chunk's own new
            # keys may sort before its first one.
            current = self._maxes[index] + b"\x00"

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self.seek(key) == key


def _unique_sorted(batch: list[bytes]) -> list[bytes]:
    unique: list[bytes] = []
    for key in batch:
        if not unique or unique[-1] != key:
            unique.append(key)
    return unique


@dataclass(frozen=True, slots=True)
class TreeNode:
    """One child in the key tree: a folder (keys sharing a prefix) or a key."""

    name: bytes
    """The segment shown: ``b"sessions"`` for the folder ``spring:session:sessions:``."""
    path: bytes
    """A folder's full prefix, delimiter included (``spring:session:sessions:``), or the key."""
    is_key: bool
    """A key (a leaf); else a folder."""
    key_count: int
    """Keys under a folder (1 for a key)."""


class KeyTree:
    """A view of a :class:`KeyIndex` as folders by ``delimiter`` (any bytes, default ``:``).

    Args:
        index: The keys.
        delimiter: What separates levels; changing it is a new view, nothing is rebuilt.
    """

    def __init__(self, index: KeyIndex, delimiter: bytes = DEFAULT_DELIMITER) -> None:
        if not delimiter:
            raise ValueError("the delimiter must not be empty")
        self.index = index
        self.delimiter = delimiter

    def count(self, prefix: bytes = b"") -> int:
        """Keys under a folder (``b""``: the whole index)."""
        return self.index.count_prefix(prefix) if prefix else len(self.index)

    def children(
        self,
        prefix: bytes = b"",
        *,
        after: TreeNode | None = None,
        limit: int = 200,
        exact: bool = True,
    ) -> list[TreeNode]:
        """A page of a folder's children, in byte order: folders with their counts, and keys.

        Args:
            prefix: The folder (its ``path``; ``b""`` for the root).
            after: The last child of the previous page; ``None`` for the first page.
            limit: Children per page.
            exact: Exact folder counts; ``False`` gives :meth:`KeyIndex.count_merged`'s
                lower bounds and walks with :meth:`KeyIndex.peek`: nothing is merged
                (cheap while a scan is running; the children are the same).

        Returns:
            At most ``limit`` children; fewer (or none) at the end.
        """
        delimiter = self.delimiter
        start: bytes | None = prefix
        if after is not None:
            start = after.path + b"\x00" if after.is_key else prefix_upper_bound(after.path)
        nodes: list[TreeNode] = []
        seek = self.index.seek if exact else self.index.peek
        while start is not None and len(nodes) < limit:
            key = seek(start)
            if key is None or not key.startswith(prefix):
                break
            cut = key.find(delimiter, len(prefix))
            if cut < 0:
                nodes.append(TreeNode(key[len(prefix) :], key, True, 1))
                start = key + b"\x00"
                continue
            folder = key[: cut + len(delimiter)]
            upper = prefix_upper_bound(folder)
            count = (
                self.index.count(folder, upper) if exact else self.index.count_merged(folder, upper)
            )
            nodes.append(TreeNode(key[len(prefix) : cut], folder, False, max(count, 1)))
            start = upper
        return nodes

    def keys(
        self, prefix: bytes = b"", *, after: bytes | None = None, limit: int = 200
    ) -> list[bytes]:
        """A page of the keys under a folder, at any depth (a flat listing)."""
        start = prefix if after is None else after + b"\x00"
        page: list[bytes] = []
        for key in self.index.iter_from(start):
            if not key.startswith(prefix) or len(page) >= limit:
                break
            page.append(key)
        return page
