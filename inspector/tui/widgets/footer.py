"""Textual's Footer, rebuilt only when the keys it shows change.

Textual's :class:`~textual.widgets.Footer` removes and mounts all its keys
again on every ``bindings_updated`` signal of its screen, and a tab switch
sends several (the hidden pane's focus moves on, the new pane takes it, the
pane's own bindings come and go): measured on the Keys tab, four rebuilds,
each key restyled three times as it is made (its own ``compact`` default,
then the footer's through ``data_bind``, then on mount), the biggest part of
the switch's 22-28 ms on the event loop. This one looks the same (it
is the same widget) and looks at the bindings at most once per refresh; when
the keys, their descriptions and their enabled state are what it shows
already, it changes nothing, otherwise it relabels the key widgets it has
(mounting or removing only the difference), and a key it makes has the
footer's ``compact`` already set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen

__all__ = ["BindingsFooter"]

_Shown = tuple[tuple[str, Binding, bool, str], ...]


def _take(widget: FooterKey, new: FooterKey) -> None:
    """Make ``widget`` show what ``new`` (made by Footer, not mounted) would."""
    if (widget.key, widget.key_display, widget.description, widget.action) != (
        new.key,
        new.key_display,
        new.description,
        new.action,
    ):
        widget.key, widget.key_display = new.key, new.key_display
        widget.description, widget.action = new.description, new.action
        widget.refresh(layout=True)
    if widget._disabled != new._disabled:
        widget._disabled = new._disabled
        widget.set_class(new._disabled, "-disabled")
    widget.tooltip = new.tooltip


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
        if not self.is_attached:
            return
        shown = self._keys_now()
        if shown == self._shown:
            return
        if not self._relabel(shown):
            await self.recompose()

    def _relabel(self, shown: _Shown | None) -> bool:
        """Show other keys with the key widgets there are (``False``: recompose).

        Mounting keys costs their styles and a message pump each, and one
        layout more (11-16 ms at 80x24 for the Keys tab's nine, measured); the
        keys shown are the ones Footer would make, given to the widgets already
        mounted, with a few mounted or removed at the end (before the command
        palette's, which stays).
        """
        if shown is None or any(b.group is not None for _, b, _, _ in shown):
            return False  # grouped keys have containers of their own
        current = list(self.children)
        if not all(type(widget) is FooterKey for widget in current):
            return False
        made = list(super().compose())
        if not all(type(widget) is FooterKey for widget in made):
            return False
        keys = cast(list[FooterKey], made)
        old = cast(list[FooterKey], current)
        palette_now = [k for k in old if k.has_class("-command-palette")]
        palette_new = [k for k in keys if k.has_class("-command-palette")]
        if len(palette_now) != len(palette_new):
            return False
        plain_now = [k for k in old if not k.has_class("-command-palette")]
        plain_new = [k for k in keys if not k.has_class("-command-palette")]
        for widget, new in zip(plain_now, plain_new, strict=False):
            _take(widget, new)
        for widget, new in zip(palette_now, palette_new, strict=True):
            _take(widget, new)
        self._shown = shown
        extra = plain_new[len(plain_now) :]
        if extra:
            for widget in extra:
                widget._reactive_connect = None
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            if palette_now:
                self.mount(*extra, before=palette_now[0])
            else:
                self.mount(*extra)
        for widget in plain_now[len(plain_new) :]:
            widget.remove()
        self.refresh(layout=True)
        return True
