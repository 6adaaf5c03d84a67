"""``s``: choose the sessions table's order; the current one again reverses it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from inspector.tui.store import SortKey

__all__ = ["SORT_CHOICES", "SortScreen", "sort_label"]

SORT_CHOICES: tuple[tuple[SortKey, str], ...] = (
    (SortKey.LAST_ACCESS, "newest first"),
    (SortKey.TTL, "soonest to expire first"),
    (SortKey.CREATED, "newest first"),
    (SortKey.STATE, "A → Z"),
    (SortKey.HOST, "A → Z"),
    (SortKey.PRINCIPAL, "A → Z"),
    (SortKey.SIZE, "largest first"),
    (SortKey.ATTRIBUTES, "most first"),
    (SortKey.ID, "A → Z"),
    (SortKey.NAMESPACE, "A → Z"),
    (SortKey.FRAMEWORK, "A → Z"),
    (SortKey.VIA, "A → Z"),
    (SortKey.FOUND, "first found first"),
)
"""Every order, with what its natural direction puts first."""


def sort_label(sort: SortKey, reverse: bool) -> str:
    """``TTL ▲``: the order and its arrow (▼ highest, newest, Z first)."""
    return f"{sort.value} {'▼' if sort.descending != reverse else '▲'}"


class SortScreen(ModalScreen[SortKey | None]):
    """The orders in a list; Enter picks one (the current one: the other direction)."""

    DEFAULT_CSS = """
    SortScreen {
        align: center middle;
    }
    SortScreen > Vertical {
        width: 56;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    SortScreen OptionList {
        height: auto;
        max-height: 16;
    }
    """
    BINDINGS = [Binding("escape,q", "dismiss_none", "Cancel")]

    def __init__(self, current: SortKey, reverse: bool) -> None:
        super().__init__()
        self.current = current
        self.reverse = reverse

    def compose(self) -> ComposeResult:
        options = []
        for sort, natural in SORT_CHOICES:
            label = Text(f"{sort.value:<16} {natural}")
            if sort is self.current:
                label = Text(f"{sort.value:<16} ", style="bold")
                label.append(sort_label(sort, self.reverse)[-1] + " now; again reverses")
            options.append(Option(label, id=sort.name))
        with Vertical():
            yield Static("Sort sessions by", markup=False)
            yield OptionList(*options, id="sorts")

    def on_mount(self) -> None:
        sorts = self.query_one(OptionList)
        sorts.highlighted = [s for s, _ in SORT_CHOICES].index(self.current)
        sorts.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(SortKey[event.option.id or "FOUND"])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
