"""A third-party MCP server written with the official Python SDK
(`MCPServer`, formerly FastMCP), for the tests of llmagent's MCP client.

Tools: `add` (numbers), `echo` (text), `secret` (never granted by the test
policies: it must not be offered or callable), `big` (an answer of N bytes),
`slow` (sleeps), `die` (the process exits mid-call), `read_file` and
`open_socket` (what its confinement lets it do), and `grow` (adds the tool
`note` and sends `notifications/tools/list_changed`). `pid` answers the
server's process id, so a test can tell a restarted server from the first.
"""

import os
import socket
import time

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("notes")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Answers its text."""
    return text


@server.tool()
def secret() -> str:
    """A tool the role is not granted."""
    return "the secret"


@server.tool()
def big(n: int) -> str:
    """Answers n bytes."""
    return "x" * n


@server.tool()
def slow(ms: int) -> str:
    """Sleeps ms milliseconds."""
    time.sleep(ms / 1000)
    return "slept"


@server.tool()
def die() -> str:
    """Exits the process in the middle of the call."""
    os._exit(3)


@server.tool()
def read_file(path: str) -> str:
    """Reads a file (the role's fs grants confine the server)."""
    try:
        with open(path) as f:
            return f.read(200)
    except OSError as e:
        return f"refused: {e.strerror}"


@server.tool()
def open_socket() -> str:
    """Opens a TCP socket (the server is confined like an exec child)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        return "opened"
    except OSError as e:
        return f"refused: {e.strerror}"


def note() -> str:
    """A tool added at run time by `grow`."""
    return "a note"


@server.tool()
async def grow(ctx: Context) -> str:
    """Adds the tool `note` and says the tool list changed."""
    server.add_tool(note)
    await ctx.session.send_tool_list_changed()
    return "grown"


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


if __name__ == "__main__":
    server.run("stdio")
