"""Checks that the private parts of libraries we build on are still there.

These places extend a library through members it does not promise to keep:
``redis_io/resp.py`` (redis-py's Python RESP2 parser), ``redis_io/connection.py``
and ``redis_io/client.py`` (how redis-py opens TLS connections, also in cluster
mode), ``redis_io/monitor.py`` and ``redis_io/pipeline.py`` (a connection's
``StreamReader``, fed to a ``hiredis.Reader``; a cluster node's connections),
and ``core/decoders/java.py`` (javaobj-py3's stream parser). An
override whose target was renamed is simply never called, and an attribute we
set that the library stopped reading changes nothing: the tool would carry on,
wrong (replies formatted as redis-py shapes them, a reader swapped in for no
one). So each of those modules checks what it relies on when it is imported,
and fails with :class:`PinnedAPIError` naming the library, its version and the
member, instead of running wrong. ``tests/unit/test_pinned_privates.py`` runs
the same checks (and checks that the library still *calls* what we override),
so an upgrade fails in CI first.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PinnedAPIError", "require_members"]


class PinnedAPIError(ImportError):
    """A library no longer has a private member this program relies on."""


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "(version unknown)"


def require_members(owner: object, names: Iterable[str], *, library: str, user: str) -> None:
    """Fail loudly unless ``owner`` (a class, instance or module) has every member in ``names``.

    Args:
        owner: What the members belong to.
        names: The member names (name-mangled ones as Python stores them).
        library: The distribution that provides ``owner`` (``redis``, ``javaobj-py3``).
        user: The module of ours that relies on them, for the message.

    Raises:
        PinnedAPIError: Some member is missing; the message says which, where,
            and what to do.
    """
    missing = [name for name in names if not hasattr(owner, name)]
    if missing:
        what = getattr(owner, "__qualname__", None) or type(owner).__qualname__
        raise PinnedAPIError(
            f"{library} {_version(library)} changed: {what} has no {', '.join(missing)}, "
            f"which {user} relies on; install the version pyproject.toml pins, "
            f"or update {user}"
        )
