"""BindingsFooter: Textual's Footer, rebuilt only when the keys it shows change (the Keys
tab switch's cost on the event loop), with the same keys, classes and look."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from inspector.tui.widgets.footer import BindingsFooter


class Box(Widget, can_focus=True):
    """A focusable widget with one key."""

    DEFAULT_CSS = "Box { height: 3; }"
    BINDINGS = [Binding("x", "app.noop", "Do")]  # noqa: RUF012 - Textual reads it so


class OtherBox(Box, inherit_bindings=False):
    """Other keys: a footer for it differs."""

    BINDINGS = [  # noqa: RUF012 - Textual reads it so
        Binding("y", "app.other", "Other"),
        Binding("z", "app.switch", "Switch"),
    ]


class Boxes(App[None]):
    BINDINGS = [Binding("q", "quit", "Quit")]  # noqa: RUF012 - Textual reads it so

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer = footer
        self.enabled = True

    def compose(self) -> ComposeResult:
        yield Box(id="a")
        yield Box(id="same")
        yield OtherBox(id="other")
        yield self.footer()

    def action_noop(self) -> None:
        pass

    def action_other(self) -> None:
        pass

    def action_switch(self) -> None:
        pass

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch":
            return True if self.enabled else None  # None: shown, disabled
        return True


Drawn = tuple[str, str, str, bool, tuple[str, ...]]


def shown(app: App[None]) -> list[Drawn]:
    """The footer's keys as drawn: key, its display, description, enabled, classes."""
    return [
        (key.key, key.key_display, key.description, not key._disabled, tuple(sorted(key.classes)))
        for key in app.query(FooterKey)
    ]


async def test_focus_moving_to_the_same_keys_rebuilds_nothing_other_keys_rebuild() -> None:
    app = Boxes(BindingsFooter)
    async with app.run_test(size=(80, 12)) as pilot:
        app.query_one("#a").focus()
        await pilot.pause()
        before = list(app.query(FooterKey))
        assert [k.key for k in before] == ["x", "q", "ctrl+p"]
        app.query_one("#same").focus()
        await pilot.pause()
        assert list(app.query(FooterKey)) == before  # the same widgets: not recomposed
        app.query_one("#other").focus()
        await pilot.pause()
        assert [k.key for k in app.query(FooterKey)] == ["y", "z", "q", "ctrl+p"]
        app.enabled = False  # same keys, one disabled: drawn again
        app.refresh_bindings()
        await pilot.pause()
        assert [(k.key, k._disabled) for k in app.query(FooterKey)][1] == ("z", True)


async def test_the_same_keys_classes_and_screen_as_textuals_footer() -> None:
    # Fewer keys, more keys, a key disabled: BindingsFooter relabels the key
    # widgets it has (mounting or removing the difference) where Textual's
    # Footer makes them all again; what is drawn must not differ.
    drawn: list[list[tuple[list[Drawn], str]]] = []
    for footer in (Footer, BindingsFooter):
        app = Boxes(footer)
        steps: list[tuple[list[Drawn], str]] = []
        async with app.run_test(size=(80, 12)) as pilot:
            for box, enabled in (("#a", True), ("#other", True), ("#a", True), ("#other", False)):
                app.enabled = enabled
                app.query_one(box).focus()
                app.refresh_bindings()
                await pilot.pause()
                steps.append((shown(app), app.export_screenshot()))
        drawn.append(steps)
    textual, ours = drawn
    assert [keys for keys, _ in ours] == [keys for keys, _ in textual]
    assert ("ctrl+p", "^p", "palette", True, ("-command-palette", "-compact")) in textual[0][0]
    assert ("z", "z", "Switch", False, ("-disabled",)) in textual[3][0]
    for (_, screen), (_, expected) in zip(ours, textual, strict=True):
        assert screen == expected
