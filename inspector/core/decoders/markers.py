"""The host markers the light readers look for: every host-like attribute name holds one.

A value whose bytes hold none of them has no host in it (for formats that write each
name out in full), so a light reader decodes only the parts where one is. Kept here,
below the skimmers and :mod:`inspector.core.frameworks.base`, so that both import it.
"""

from __future__ import annotations

import re

__all__ = ["HOST_MARKERS", "MARKS", "TEXT_MARKERS", "mark_starts"]

HOST_MARKERS = (b"host", b"container", b"instance", b"server")
"""Every name of ``core.frameworks.base.HOST_NAMES`` holds one of these."""
TEXT_MARKERS = tuple(marker.decode() for marker in HOST_MARKERS)
""":data:`HOST_MARKERS` as text, for names already decoded."""
MARKS = re.compile(b"|".join(HOST_MARKERS))
"""Any of :data:`HOST_MARKERS` (a search in a span)."""


def mark_starts(data: bytes) -> list[int]:
    """Where each of :data:`HOST_MARKERS` starts in ``data``, in order: :data:`MARKS`' starts.

    Four ``find`` loops (in C) cost less than the regex's alternation scan, and
    give the same positions: no marker overlaps itself or another.
    """
    out: list[int] = []
    for marker in HOST_MARKERS:
        at = data.find(marker)
        while at >= 0:
            out.append(at)
            at = data.find(marker, at + 1)
    out.sort()
    return out
