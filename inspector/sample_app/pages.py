"""The three pages of the seed app, in English, with every value HTML-escaped."""

from __future__ import annotations

import datetime as dt
from html import escape

__all__ = ["error_page", "index_page", "shared_session_page"]

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
.box { border: 1px solid #999; border-radius: 6px; padding: 1em 1.5em; margin: 1em 0; max-width: 34em; }
table { border-collapse: collapse; } td, th { border: 1px solid #999; padding: .4em .8em; text-align: left; }
.container { font-weight: bold; font-size: 1.2em; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def index_page(name: str) -> str:
    """``/index.html``: the container-group input and the two buttons (does not touch the session)."""
    return _page(
        "Index",
        f"""<h1>Hello! ElastiCache Redis sample!</h1>
<p>Served by <span class="container" id="container">{escape(name)}</span></p>
<div class="box">
  <h2>Call Shared Session.</h2>
  <form id="sharedSessionForm" method="get" onsubmit="return submitCreateUrl();">
    <label for="containerGroup">Container group</label>
    <input type="number" id="containerGroup" name="containerGroup" value="1" min="0">
    <button type="submit" id="sharedSessionButton" name="sharedSessionButton">Shared Session</button>
  </form>
</div>
<div class="box">
  <h2>Session invalidate.</h2>
  <form method="get" action="/invalidateSession">
    <button type="submit" id="invalidateSessionButton">Invalidate Session</button>
  </form>
</div>
<script>
function submitCreateUrl() {{
  var group = document.getElementById("containerGroup").value || "1";
  var form = document.getElementById("sharedSessionForm");
  form.action = "/" + encodeURIComponent(group);
  return true;
}}
</script>""",
    )


def shared_session_page(name: str, updated_ms: int) -> str:
    """``/<group>``: which container updated the shared session, and when."""
    when = dt.datetime.fromtimestamp(updated_ms / 1000, tz=dt.UTC).astimezone()
    return _page(
        "Shared Session",
        f"""<h1>Shared Session</h1>
<table>
  <tr><th>Container that updated the session</th><td class="container" id="host">{escape(name)}</td></tr>
  <tr><th>Last updated</th><td id="lastUpdatedAt">{escape(when.isoformat(timespec="milliseconds"))}</td></tr>
</table>
<p><a href="/index.html" id="back">Back</a></p>""",
    )


def error_page(title: str, message: str) -> str:
    """A plain error page (e.g. 503 when Redis is down)."""
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")
