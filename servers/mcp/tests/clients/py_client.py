"""A real MCP client (the Python `mcp` SDK) for servers/mcp/tests/real_clients.rs.

Usage:
  py_client.py stdio <server-binary> [server args...]
  py_client.py http  <url of /mcp>     [bearer token]
  py_client.py sse   <url of /sse>     [bearer token]

Connects, initializes, lists the tools, calls hub_admin {action: "whoami"} and hub_repos {action: "list"},
and prints one JSON line: {"protocol", "tools", "whoami": {...}, "repos": {...}}. Exits 1 on any failure.
"""

import json
import sys

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def summarize(result):
    return {
        "isError": bool(result.is_error),
        "structured": result.structured_content,
        "text": " ".join(getattr(c, "text", "") for c in result.content)[:2000],
    }


async def exercise(read, write):
    async with ClientSession(read, write) as session:
        init = await session.initialize()
        tools = await session.list_tools()
        whoami = await session.call_tool("hub_admin", {"action": "whoami"})
        repos = await session.call_tool("hub_repos", {"action": "list", "params": {"namespace": "demo"}})
        print(
            json.dumps(
                {
                    "protocol": init.protocol_version,
                    "server": init.server_info.name,
                    "tools": sorted(t.name for t in tools.tools),
                    "whoami": summarize(whoami),
                    "repos": summarize(repos),
                }
            ),
            flush=True,
        )


async def main(argv):
    mode, target, rest = argv[1], argv[2], argv[3:]
    if mode == "stdio":
        params = StdioServerParameters(command=target, args=rest)
        async with stdio_client(params) as (read, write):
            await exercise(read, write)
        return
    headers = {"Authorization": f"Bearer {rest[0]}"} if rest else {}
    if mode == "http":
        async with create_mcp_http_client(headers=headers) as http:
            async with streamable_http_client(target, http_client=http) as streams:
                await exercise(streams[0], streams[1])
    elif mode == "sse":
        async with sse_client(target, headers=headers) as (read, write):
            await exercise(read, write)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    try:
        anyio.run(main, sys.argv)
    except BaseException as exc:  # noqa: BLE001 - report any failure, including exception groups
        if isinstance(exc, SystemExit) and not exc.code:
            raise
        print(f"py_client failed: {exc!r}", file=sys.stderr)
        sys.exit(1)
