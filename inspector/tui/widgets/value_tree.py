r"""One session attribute as a tree: class names, fields, items, entries, readable dates.

The text of every node comes from :mod:`inspector.core.render` (the same lines
``show`` and ``decode`` print), so the TUI and the CLI never disagree about how
a value reads. What this module adds is the Textual side:

* **Labels are never markup.** ``Tree`` parses ``str`` labels as Rich markup, so
  a session string like ``[bold red]x[/]`` would restyle the screen. Every label
  here is a :class:`rich.text.Text` built from :func:`~inspector.core.render.safe_text`
  output (control characters, ESC and bidi overrides arrive as ``\x1b``-style
  escapes), and :meth:`ValueTree.process_label` turns any stray ``str`` into
  plain ``Text`` as well.
* **Lazy and capped.** A node's children are created when it is first expanded,
  and at most ``page_size`` of them at a time, followed by a "… N more" node that
  shows the next page when selected. A 100k-item list therefore costs one page
  of nodes, not 100k.
* **Theme-friendly styling.** Label parts carry role names (``value-tree--key``,
  ``value-tree--string``…) as span styles; :meth:`ValueTree.render_label` swaps
  them for the widget's component styles at paint time, so colours follow the
  theme, degrade to 16 colours, and vanish under ``NO_COLOR`` (bold/italic keep
  the structure readable).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Span, Text, TextType
from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

# describe_value is render's one-line-plus-children description of a value;
# reusing it keeps the tree and the CLI text identical.
from inspector.core.render import (
    describe_value,
    render_decoded,
    render_value,
    safe_text,
    simple_class_name,
)
from inspector.core.values import (
    HEX,
    REF,
    VALUE,
    Decoded,
    JsonValue,
    ValueFormat,
    reserved_shape,
)

__all__ = ["ValueEntry", "ValueTree", "value_as_text"]

# Role names used as span styles in labels; resolved to component styles when painted.
KEY = "value-tree--key"
CLASS_NAME = "value-tree--class"
META = "value-tree--meta"
STRING = "value-tree--string"
NUMBER = "value-tree--number"
KEYWORD = "value-tree--keyword"
SCALAR = "value-tree--scalar"
NOTE = "value-tree--note"
ERROR = "value-tree--error"
_ROLES = frozenset({KEY, CLASS_NAME, META, STRING, NUMBER, KEYWORD, SCALAR, NOTE, ERROR})

# "Expand all" stops after this many new nodes, so `*` on a 100k-item list
# costs what one page does a few times over, not 100k nodes.
EXPAND_ALL_BUDGET = 2000

# SPRING_SECURITY_CONTEXT opens along these keys (issue 16.4): the token, its
# principal (User.username or a plain name) and its authorities with their
# roles. The principal's own copy of the authorities and the details stay shut.
_SECURITY_CONTEXT_OPEN: dict[str, tuple[str, ...]] = {
    "authentication": ("principal", "authorities"),
    "authorities": ("*",),
}

# A 1 MiB string in one label would be measured and painted on every rebuild;
# the full text stays available through `selected_text()` and the raw view.
MAX_LABEL = 2000


@dataclass(eq=False, slots=True)
class ValueEntry:
    """What one tree node stands for (the ``data`` of each ``TreeNode``)."""

    value: JsonValue = None
    """The typed-JSON value the node shows."""
    copy_text: str | None = None
    """Text to copy for nodes that are not a value (preview, hex, notes); else ``None``."""
    children: list[tuple[str, JsonValue]] | None = None
    """(label, value) pairs under the node, as render lists them."""
    shown: int = 0
    """How many of ``children`` have nodes so far."""
    opened: bool = False
    """Whether the first page of children has been created."""
    more: bool = False
    """The "… N more" node: selecting it shows the next page of its parent."""
    key: str | None = None
    """The field name, index (``[0]``) or entry key the node is under, if any."""


def value_as_text(decoded: Decoded, tz: dt.tzinfo | None = None) -> str:
    """The whole value as plain, escaped text (what ``decode`` prints), for copying."""
    return _lines(render_decoded(decoded, tz))


def _lines(lines: list[str]) -> str:
    # render's lines are escaped already (class names included); safe_text is
    # idempotent, so this only guards the clipboard against a slip in core.
    return "\n".join(safe_text(line) for line in lines)


def _clip(text: str) -> str:
    if len(text) <= MAX_LABEL:
        return text
    return f"{text[:MAX_LABEL]}… ({len(text):,} characters)"


def _head_text(value: JsonValue, head: str) -> Text:
    """``head`` (render's one-line form of ``value``) with a role on each part.

    Only the styling depends on the split; the characters are render's, which
    are escaped already. Escaping again (idempotent) after clipping guards the
    label against a slip in core at the cost of at most ``MAX_LABEL`` characters.
    """
    head = safe_text(_clip(head))
    if isinstance(value, str):
        return Text(head, style=STRING)
    if isinstance(value, bool) or value is None:
        return Text(head, style=KEYWORD)
    if isinstance(value, int | float):
        return Text(head, style=NUMBER)
    if isinstance(value, list):
        return _split(head, " (", CLASS_NAME, META)
    # Styled by the shape render read it as, so a plain object holding a
    # reserved key ("@hex", "@value") looks like the object it is shown as.
    shape = reserved_shape(value)
    if shape in (REF, HEX):
        return Text(head, style=NOTE)
    if shape == VALUE:
        # "2019-03-09 10:57:54.569 +0000  (Date, 1552129074569)", "RED  (Color)"
        return _split(head, "  (", SCALAR, META, last=True)
    return _split(head, " (", CLASS_NAME, META)


def _split(text: str, sep: str, first: str, rest: str, *, last: bool = False) -> Text:
    at = text.rfind(sep) if last else text.find(sep)
    if at < 0 or not text.endswith(")"):
        return Text(text, style=first)
    at = len(text[:at].rstrip())  # the gap before "(" goes with the note
    return Text.assemble((text[:at], first), (text[at:], rest))


def _root_label(label: str, decoded: Decoded) -> Text:
    """``name  java · SampleSession · 212 B``: the attribute, as render_decoded heads it."""
    text = Text.assemble((_clip(safe_text(label)), KEY), "  ", (decoded.format.value, META))
    if decoded.java_class:
        text.append(" · ", META)
        text.append(_clip(safe_text(simple_class_name(decoded.java_class))), CLASS_NAME)
    text.append(f" · {decoded.size} B", META)
    return text


class ValueTree(Tree[ValueEntry]):
    """A decoded session attribute as an expandable tree.

    The root is the attribute (name, format, simple class name, size); under it
    the value, whose fields, items and entries expand lazily. Binary, empty and
    undecodable values show their escaped preview, hex and the decoder's note.

    Args:
        label: The attribute name shown on the root.
        decoded: The value; ``None`` leaves the tree empty until :meth:`set_value`.
        tz: Time zone for dates (default: local time).
        expand_depth: Levels expanded at first: 2 opens the attribute and its
            value, so the top-level fields show.
        page_size: Children created per node (and per "… more" step).
        name: The DOM name of the widget.
        id: The DOM id of the widget.
        classes: The CSS classes of the widget.
        disabled: Whether the widget is disabled.
    """

    COMPONENT_CLASSES = Tree.COMPONENT_CLASSES | set(_ROLES)

    # → / ← open and close the node under the cursor (ScrollView would scroll
    # sideways); shift+→ and * open its whole subtree (Tree's shift+→ moved
    # to the parent's next sibling, which nobody here asked for).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "expand_node", "Expand", show=False),
        Binding("left", "collapse_node", "Collapse", show=False),
        Binding("shift+right,asterisk", "expand_subtree", "Expand all", show=False),
    ]

    # Theme variables only: they follow dark/light themes, map to the ANSI
    # palette in 16-colour terminals and are dropped under NO_COLOR, where the
    # bold/italic text styles still tell names, classes and notes apart.
    DEFAULT_CSS = """
    ValueTree {
        height: 1fr;
        & > .value-tree--key { text-style: bold; }
        & > .value-tree--class { color: $text-primary; text-style: bold; }
        & > .value-tree--meta { text-style: dim; }
        & > .value-tree--string { color: $text-success; }
        & > .value-tree--number { color: $text-accent; }
        & > .value-tree--keyword { color: $text-accent; text-style: italic; }
        & > .value-tree--scalar { color: $text-secondary; }
        & > .value-tree--note { color: $text-warning; text-style: italic; }
        & > .value-tree--error { color: $text-error; text-style: bold; }
    }
    """

    def __init__(
        self,
        label: str = "",
        decoded: Decoded | None = None,
        *,
        tz: dt.tzinfo | None = None,
        expand_depth: int = 2,
        page_size: int = 500,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name for it
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        self._tz = tz
        self.expand_depth = expand_depth
        self.page_size = max(1, page_size)
        self._decoded: Decoded | None = None
        root_label = _root_label(label, decoded) if decoded else Text(safe_text(label))
        super().__init__(root_label, name=name, id=id, classes=classes, disabled=disabled)
        if decoded is not None:
            self._fill(decoded)

    @property
    def decoded(self) -> Decoded | None:
        """The value shown, or ``None`` before :meth:`set_value`."""
        return self._decoded

    def set_value(self, label: str, decoded: Decoded) -> None:
        """Show another value in this widget (the previous nodes are dropped)."""
        # remove_children (unlike Tree.clear) also forgets the nodes' ids.
        self.root.remove_children()
        self.root.set_label(_root_label(label, decoded))
        self._fill(decoded)
        self.cursor_line = 0

    def _fill(self, decoded: Decoded) -> None:
        self._decoded = decoded
        root = self.root
        root.data = ValueEntry(decoded.value)
        root.allow_expand = True
        if decoded.format is ValueFormat.EMPTY:
            root.add_leaf(
                Text("(empty: removed attribute, shadow key or null)", style=NOTE),
                ValueEntry(copy_text=""),
            )
        elif decoded.format in (ValueFormat.BINARY, ValueFormat.UNDECODABLE):
            preview = safe_text(decoded.preview or "")
            hexed = safe_text(decoded.hex or "")
            root.add_leaf(
                Text.assemble(("text", KEY), ": ", (f'"{preview}"', STRING)),
                ValueEntry(copy_text=preview),
            )
            root.add_leaf(Text.assemble(("hex", KEY), ":  ", hexed), ValueEntry(copy_text=hexed))
        else:
            self._add_value(root, None, decoded.value)
        if decoded.error:
            error = safe_text(decoded.error)
            root.add_leaf(
                Text.assemble(("note", KEY), ": ", (_clip(error), ERROR)),
                ValueEntry(copy_text=error),
            )
        self._open(root, 0)
        if decoded.java_class and simple_class_name(decoded.java_class) == "SecurityContextImpl":
            for child in root.children:
                self._open_keys(child, _SECURITY_CONTEXT_OPEN["authentication"], "authentication")

    def _open_keys(self, node: TreeNode[ValueEntry], keys: tuple[str, ...], via: str) -> None:
        """Open the ``via`` child of ``node``, then its children named in ``keys``."""
        self._populate(node)
        for child in node.children:
            if child.data is None or child.data.key != via or not child.allow_expand:
                continue
            self._populate(child)
            child.expand()
            for grandchild in child.children:
                key = grandchild.data.key if grandchild.data else None
                if not grandchild.allow_expand or key is None:
                    continue
                if "*" in keys or key in keys:
                    self._populate(grandchild)
                    grandchild.expand()
                    deeper = _SECURITY_CONTEXT_OPEN.get(key)
                    if deeper == ("*",):
                        for item in grandchild.children:
                            if item.allow_expand:
                                self._populate(item)
                                item.expand()

    def _open(self, node: TreeNode[ValueEntry], depth: int) -> None:
        """Expand ``node`` and its descendants down to ``expand_depth`` levels."""
        if depth >= self.expand_depth or not node.allow_expand:
            return
        self._populate(node)
        node.expand()
        for child in node.children:
            self._open(child, depth + 1)

    def _add_value(self, parent: TreeNode[ValueEntry], key: str | None, value: JsonValue) -> None:
        head, children = describe_value(value, self._tz)
        label = _head_text(value, head)
        if key is not None:
            label = Text.assemble((_clip(safe_text(key)), KEY), ": ", label)
        # The pairs are kept for the first expansion. They add no more than
        # the value already holds (the decoder caps a value at 100k nodes).
        entry = ValueEntry(value, children=children, key=key)
        if children:
            parent.add(label, entry, allow_expand=True)
        else:
            parent.add_leaf(label, entry)

    def _populate(self, node: TreeNode[ValueEntry]) -> None:
        """Create the first page of ``node``'s children, once."""
        entry = node.data
        if entry is None or entry.opened or not entry.children:
            return  # done, a leaf, or the root (whose children set_value makes)
        entry.opened = True
        self._add_page(node)

    def _add_page(self, node: TreeNode[ValueEntry]) -> None:
        entry = node.data
        assert entry is not None
        assert entry.children is not None
        start, total = entry.shown, len(entry.children)
        stop = min(total, start + self.page_size)
        for key, value in entry.children[start:stop]:
            self._add_value(node, key, value)
        entry.shown = stop
        if stop < total:
            left = total - stop
            node.add_leaf(
                Text(
                    f"… {left:,} more (select to show {min(left, self.page_size):,})",
                    style=NOTE,
                ),
                ValueEntry(more=True),
            )

    @on(Tree.NodeExpanded)
    def _populate_expanded(self, event: Tree.NodeExpanded[ValueEntry]) -> None:
        # Children are created here, on first expansion, so that unopened
        # branches of a large value cost nothing.
        self._populate(event.node)

    @on(Tree.NodeSelected)
    def _show_more(self, event: Tree.NodeSelected[ValueEntry]) -> None:
        node = event.node
        if node.data is None or not node.data.more or node.parent is None:
            return
        parent = node.parent
        node.remove()
        self._add_page(parent)

    def action_expand_node(self) -> None:
        """→: open the node under the cursor; on an open one, go to its first child."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()  # NodeExpanded creates the children
        elif node.is_expanded and node.children:
            self.move_cursor(node.children[0])

    def action_collapse_node(self) -> None:
        """←: close the node under the cursor; on a closed one or a leaf, go to its parent."""
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    def action_expand_subtree(self) -> None:
        """shift+→ / *: open everything under the cursor (the root: the whole value)."""
        node = self.cursor_node or self.root
        self.expand_subtree(node)

    def expand_subtree(self, node: TreeNode[ValueEntry], budget: int = EXPAND_ALL_BUDGET) -> int:
        """Open ``node`` and its descendants, creating at most ``budget`` new nodes.

        Pages stay pages ("… N more" nodes are left as they are), and past the
        budget the remaining branches stay closed, so a huge value stays cheap.
        Returns the budget left.
        """
        stack = [node]
        while stack and budget > 0:
            current = stack.pop()
            if not current.allow_expand:
                continue
            before = len(current.children)
            self._populate(current)
            budget -= len(current.children) - before
            if not current.is_expanded:
                current.expand()
            stack.extend(reversed(current.children))
        return budget

    def selected_text(self) -> str:
        """The value under the cursor as text, for the clipboard.

        A string is its escaped text without quotes, anything else the
        indented lines ``decode`` prints; the root is the whole attribute.
        """
        node = self.cursor_node
        if node is None or node.is_root:
            return value_as_text(self._decoded, self._tz) if self._decoded else ""
        entry = node.data
        if entry is None or entry.more:
            return node.label.plain if isinstance(node.label, Text) else ""
        if entry.copy_text is not None:
            return entry.copy_text
        if isinstance(entry.value, str):
            return safe_text(entry.value)
        return _lines(render_value(entry.value, self._tz))

    def process_label(self, label: TextType) -> Text:
        # Tree would parse a str as markup; data never is.
        if isinstance(label, str):
            label = Text(safe_text(label))
        return super().process_label(label)

    def render_label(self, node: TreeNode[ValueEntry], base_style: Style, style: Style) -> Text:
        text = super().render_label(node, base_style, style)
        # Swap role names for the theme's styles; the cursor style (applied
        # after them by Tree) still wins, so the cursor line stays legible.
        text.spans = [
            Span(span.start, span.end, self._role_style(span.style))
            if isinstance(span.style, str) and span.style in _ROLES
            else span
            for span in text.spans
        ]
        return text

    def _role_style(self, role: str) -> Style:
        return self.get_component_rich_style(role, partial=True)
