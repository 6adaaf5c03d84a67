"""The Textual app. For now a connection screen; the sessions view is issue 5."""

from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static

from inspector import __version__
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["InspectorApp", "run_tui"]


class InspectorApp(App[int]):
    """session-inspector's terminal UI."""

    CSS_PATH = "app.tcss"
    TITLE = "session-inspector"
    SUB_TITLE = __version__
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(self, settings: ConnectionSettings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="body"):
            yield Static(f"Connecting to {self.settings.endpoint}…", id="status", markup=False)
            yield Static(
                "Coming next: Spring Session list, decoded attributes, live container "
                "timeline, redis-cli console.",
                id="coming",
                markup=False,
            )
        yield Footer()

    def on_mount(self) -> None:
        self._load_summary()

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def _load_summary(self) -> None:
        from inspector.redis_io.client import open_client
        from inspector.redis_io.errors import Failure, describe_failure
        from inspector.redis_io.server import server_summary

        status = self.query_one("#status", Static)
        try:
            client = await open_client(self.settings)
            try:
                summary = await server_summary(client)
            finally:
                await client.aclose()
        except Failure as failure:
            status.update(f"Cannot connect: {failure.message}")
            return
        except Exception as exc:  # shown, never a traceback on screen
            status.update(f"Error: {describe_failure(exc, self.settings).message}")
            return
        status.update(f"Connected to {self.settings.endpoint}: {summary.describe()}")


def run_tui(settings: ConnectionSettings) -> int:
    """Run the app until the user quits; returns the exit code."""
    return InspectorApp(settings).run() or 0
