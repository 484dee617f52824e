"""The official MCP Python SDK as a client of `llmagent mcp` over stdio.

Usage: sdk_client.py LLMAGENT POLICY ROLE [ARG...]

Starts `LLMAGENT mcp --policy POLICY --role ROLE` (plus ARGs), lists the
tools, asks `crypto-sha256` for the digest of "hello" and `file-read` for
/etc/shadow, and prints one JSON object with what it saw. The test that runs
it (`mcp_python_sdk_*`) checks that object.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main() -> None:
    binary, policy, role, *rest = sys.argv[1:]
    params = StdioServerParameters(
        command=binary, args=["mcp", "--policy", policy, "--role", role, *rest]
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            sha = await session.call_tool("crypto-sha256", {"data": "hello"})
            shadow = await session.call_tool("file-read", {"path": "/etc/shadow"})
            print(
                json.dumps(
                    {
                        "tools": sorted(t.name for t in listed.tools),
                        "sha256": {
                            "is_error": bool(sha.is_error),
                            "structured": sha.structured_content,
                        },
                        "shadow": {
                            "is_error": bool(shadow.is_error),
                            "structured": shadow.structured_content,
                            "text": text_of(shadow),
                        },
                    }
                )
            )


asyncio.run(main())
