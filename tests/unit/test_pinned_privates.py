"""The private members of redis-py, javaobj-py3 and Textual the code overrides, calls or sets
are still there, and still used by the library: an upgrade that moves one fails
here, with the member's name, instead of leaving the tool running wrong
(replies shaped by redis-py, TLS connections without TLS, Java names decoded
by javaobj's own broken reader)."""

from __future__ import annotations

import inspect

import pytest
from javaobj.v2.core import JavaStreamParser
from redis._parsers import _AsyncRESP2Parser
from redis.asyncio.cluster import ClusterNode, NodesManager
from redis.asyncio.connection import AbstractConnection, Connection
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from inspector.core.decoders import java
from inspector.core.pinned import PinnedAPIError, require_members
from inspector.redis_io import client, connection, monitor, pipeline, resp
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.widgets import footer, key_tree


def source(function: object) -> str:
    return inspect.getsource(function)  # type: ignore[arg-type]


# ---------------------------------------------------------------- redis-py: the RESP2 parser


def test_resp_parser_members_exist() -> None:
    require_members(_AsyncRESP2Parser, resp.PARSER_MEMBERS, library="redis", user="test")


def test_redis_py_still_reads_replies_through_the_overridden_method() -> None:
    assert "_read_response" in vars(resp.TypedRESPParser)
    assert "self._read_response(" in source(_AsyncRESP2Parser.read_response), (
        "redis-py's _AsyncRESP2Parser.read_response no longer calls _read_response: "
        "TypedRESPParser (inspector/redis_io/resp.py) would never run"
    )


# ---------------------------------------------------------------- redis-py: TLS connections


def test_redis_py_still_opens_tcp_connections_with_connection_arguments() -> None:
    assert "_connection_arguments" in vars(connection.TLSConnection)
    assert "self._connection_arguments()" in source(Connection._connect), (
        "redis-py's Connection._connect no longer calls _connection_arguments: "
        "TLSConnection (inspector/redis_io/connection.py) would connect without TLS"
    )


def test_redis_py_still_makes_its_socket_in_connect_and_reads_our_streams() -> None:
    # The tunnelled connections (--ssh) override _connect and set _reader/_writer.
    assert "_connect" in vars(connection._Tunnelled)
    assert "self._connect()" in source(AbstractConnection.connect_check_health), (
        "redis-py no longer opens sockets through _connect: tunnelled connections "
        "(inspector/redis_io/connection.py) would never go through the bastion"
    )
    assert "self._reader = reader" in source(Connection._connect)
    assert "self._writer = writer" in source(Connection._connect)


def test_cluster_nodes_still_take_our_connection_class() -> None:
    # What _cluster_client sets: the shared kwargs every discovered node is
    # built from, and each startup node's class.
    cluster = client.ClusterClient(ConnectionSettings(port=7000), host="127.0.0.1", port=7000)
    require_members(cluster.nodes_manager, client._MANAGER_MEMBERS, library="redis", user="test")
    for node in cluster.nodes_manager.startup_nodes.values():
        require_members(node, client._NODE_MEMBERS, library="redis", user="test")
    assert "ClusterNode(host, port, **self.connection_kwargs)" in source(NodesManager.initialize)
    assert "self.connection_class(" in source(ClusterNode.acquire_connection)


# ---------------------------------------------------------------- redis-py: MONITOR's raw reads


def test_monitor_still_finds_the_connection_s_stream_reader() -> None:
    require_members(Connection(), monitor._CONNECTION_MEMBERS, library="redis", user="test")
    assert "self._reader = reader" in source(Connection._connect), (
        "redis-py's Connection._connect no longer keeps its StreamReader in _reader: "
        "MONITOR readers (inspector/redis_io/monitor.py) would find nothing to read"
    )


# ---------------------------------------------------------------- redis-py: bulk pipeline reads


def test_bulk_pipelines_still_find_the_connection_s_stream_reader() -> None:
    # Without it read_replies falls back to one await per reply: correct, but
    # the listing would lose most of its speed without a word.
    require_members(Connection(), pipeline.CONNECTION_MEMBERS, library="redis", user="test")
    assert "self._reader = reader" in source(Connection._connect)


def test_cluster_bulk_reads_still_find_nodes_and_their_connections() -> None:
    # _cluster_packed routes by the client's slot map and borrows a node's
    # connection the way redis-py's own pipeline does.
    cluster = client.ClusterClient(ConnectionSettings(port=7000), host="127.0.0.1", port=7000)
    require_members(cluster, ("keyslot", "nodes_manager"), library="redis", user="test")
    require_members(cluster.nodes_manager, ("get_node_from_slot",), library="redis", user="test")
    node = ClusterNode("127.0.0.1", 7000)
    require_members(node, ("acquire_connection", "release", "name"), library="redis", user="test")


# ---------------------------------------------------------------- javaobj-py3: the stream parser


def test_javaobj_parser_members_exist() -> None:
    java._check_javaobj()


def test_javaobj_still_dispatches_to_the_overridden_methods() -> None:
    init = source(JavaStreamParser.__init__)
    assert "TerminalCode.TC_ARRAY: self._do_array" in init
    assert "TerminalCode.TC_STRING: self._read_new_string" in init
    assert "TerminalCode.TC_LONGSTRING: self._read_new_string" in init
    assert "self._read_class_data(" in source(JavaStreamParser._do_object)
    for name in ("_read_new_string", "_do_array", "_read_class_data"):
        assert name in vars(java._Parser), name


def test_javaobj_still_reads_class_names_through_the_swapped_reader() -> None:
    assert "self.__reader.read_UTF()" in source(JavaStreamParser._do_classdesc)
    parser = java._Parser(java._Source(b"", 0))
    assert parser._JavaStreamParser__reader is parser._in


# ---------------------------------------------------------------- the check itself


def test_a_missing_member_fails_with_a_clear_message() -> None:
    with pytest.raises(PinnedAPIError) as caught:
        require_members(
            Connection, ("_connection_arguments", "_gone"), library="redis", user="x.py"
        )
    message = str(caught.value)
    assert message.startswith("redis ")
    assert "Connection has no _gone, which x.py relies on" in message
    assert "_connection_arguments" not in message


# ---------------------------------------------------------------- Textual: the footer, the key tree


def test_textual_footer_members_exist() -> None:
    # BindingsFooter (inspector/tui/widgets/footer.py) relabels Footer's own
    # FooterKey widgets and unbinds their data_bind link before they mount.
    key = FooterKey("q", "q", "Quit", "quit")
    user = "inspector/tui/widgets/footer.py"
    require_members(key, ("_reactive_connect", "_disabled"), library="textual", user=user)
    assert ".data_bind(compact=Footer.compact)" in source(Footer.compose), (
        "Textual's Footer no longer binds its keys' compact: BindingsFooter's unbinding "
        "(inspector/tui/widgets/footer.py) is out of date"
    )
    require_members(Footer, ("_bindings_ready", "bindings_changed"), library="textual", user=user)
    assert "self.bindings_changed" in source(Footer.on_mount), (
        "Textual's Footer no longer subscribes bindings_changed to the screen's signal: "
        "BindingsFooter (inspector/tui/widgets/footer.py) would never update its keys"
    )
    assert "bindings_changed" in vars(footer.BindingsFooter)


def test_textual_scroll_update_still_sets_the_scrollbars() -> None:
    # KeyTreeView.sync sets its virtual size without the reactive's full-screen
    # layout and updates the scrollbars itself through _scroll_update.
    require_members(
        Widget, ("_scroll_update",), library="textual", user="inspector/tui/widgets/key_tree.py"
    )
    assert "window_virtual_size" in source(Widget._scroll_update)
    assert "self._scroll_update(" in source(key_tree.KeyTreeView.sync)
