"""``?``: every key, in one place."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HELP_TEXT", "HelpScreen"]

HELP_TEXT = """\
session-inspector — what is in each session, and which container served it

Everywhere
  1 2 3 4 5     Sessions, Live, Console, Server, Keys tabs
  ?             this help          ctrl+p   command palette
  q  ctrl+c     quit (asks first while a write waits or runs)
  escape        back / close
  in the Console's prompt and the filter box, q ? 1-5 are typed: escape
  leaves the box; ctrl+c quits there too
  a             containers by connection (MONITOR) on / off; else by host attribute

Sessions
  /             filter: any text, values too;
                host: principal: id: attr: ns: value: narrow it
  s             sort by any column (the current one again: reversed)
  S             reverse the order; a click on a title sorts by it
  ↑ ↓ PgUp PgDn Home End           move       enter   open the session
  ← →           the columns after the id, on narrow terminals
  f             follow newest: the cursor stays on the top line
                (by default it stays on its session as rows move)

Session detail
  ↑ ↓ / tab     choose an attribute, walk its tree (→ expands, ← collapses)
  * shift+→     expand the whole subtree under the cursor (on the top line: all)
  r             raw bytes (redis-cli escaping and hex) / decoded tree
  c             copy the session id     y   copy the value shown
  e             export the session as JSON (a file in the current directory)
  d             delete the session (only with --allow-writes; asks first)

Keys (every key, as a tree; SCAN on every primary, never KEYS)
  → ←           open / close a folder       enter   open the key's value
  /             SCAN MATCH pattern (on the server)   t   SCAN TYPE (cycles)
  D             delimiter (default :)       m   MEMORY USAGE of the keys shown
  r             scan again
  in a value:   r raw / decoded, s its session (Spring keys), enter decodes an element;
                with --allow-writes only, each asked first (Cancel is the default):
                d delete, t set TTL, p remove TTL, e edit a string or a hash field

Live
  requests as they happen: container (how named) ← previous [attributes written]
  names by connection: client-name, map (--client-map), dns, else the address;
  ≠ attribute X: the session's host attribute names another container
  per container: share, requests/s, sessions served; per session: its containers
  MONITOR costs the server capacity: the Server tab shows how much, and its state

Console
  type Redis commands as in redis-cli; ↑ history, tab completes;
  ctrl+x stops MONITOR / SUBSCRIBE
  it sends exactly what you type, writes included: --allow-writes does not
  apply to it (as in redis-cli, what you type is what you asked for)

Values are shown as text: markup and control characters in sessions are escaped.
The app itself writes nothing to Redis; with --allow-writes, d deletes a session
and the Keys tab's d/t/p/e change a key, after asking. Only the console sends
writes without that flag, when you type them.
"""


class HelpScreen(ModalScreen[None]):
    """The key reference."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 90;
        max-width: 100%;
        height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 2;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(HELP_TEXT))
