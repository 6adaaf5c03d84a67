"""Reusable widgets of the TUI."""

from inspector.tui.widgets.console import ConsolePane as ConsolePane
from inspector.tui.widgets.raw_view import RawView as RawView
from inspector.tui.widgets.value_tree import ValueTree as ValueTree
from inspector.tui.widgets.value_tree import value_as_text as value_as_text
