"""Textual's Footer, rebuilt only when the keys it shows change.

Textual's :class:`~textual.widgets.Footer` removes and mounts all its keys
again on every ``bindings_updated`` signal of its screen, and a tab switch
sends several (the hidden pane's focus moves on, the new pane takes it, the
pane's own bindings come and go): measured on the Keys tab, four rebuilds,
each key restyled three times as it is made (its own ``compact`` default,
then the footer's through ``data_bind``, then on mount), the biggest part of
the switch's 22-28 ms on the event loop. This one looks the same (it
is the same widget), rebuilds at most once per refresh, not at all when the
keys, their descriptions and their enabled state are what it shows already,
and makes each key with the footer's ``compact`` already set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen

__all__ = ["BindingsFooter"]

_Shown = tuple[tuple[str, Binding, bool, str], ...]


class BindingsFooter(Footer):
    """A :class:`~textual.widgets.Footer` that recomposes only for a different set of keys."""

    def __init__(self, *, show_command_palette: bool = True) -> None:
        super().__init__(show_command_palette=show_command_palette)
        self._shown: _Shown | None = None
        self._pending = False

    def _keys_now(self) -> _Shown | None:
        """What the footer would show now (``None``: the bindings are not known yet)."""
        if not self._bindings_ready:
            return None
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (key, active.binding, active.enabled, active.tooltip)
            for key, active in self.screen.active_bindings.items()
            if active.binding.show or key == palette
        )

    def compose(self) -> ComposeResult:
        self._shown = self._keys_now()
        compact = self.compact
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget._reactive_connect:
                # Footer binds each key's compact to its own (not the command
                # palette's key), which restyles the new key twice; this
                # footer's compact never changes after it is made, so the key
                # is made with it (same classes, same look).
                widget._reactive_connect = None
                widget.set_reactive(FooterKey.compact, compact)
                widget.set_class(compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            # Several signals before the next refresh (focus moving twice in a
            # tab switch): one look at the bindings after it.
            self._pending = True
            self.call_after_refresh(self._update_keys)

    async def _update_keys(self) -> None:
        self._pending = False
        if self.is_attached and self._keys_now() != self._shown:
            await self.recompose()
