# Drives Toolport with the official Python `mcp` client library (run by tests/clients.rs): connects
# over Streamable HTTP, legacy SSE or stdio, lists the tools, calls one, and prints a JSON summary
# on stdout for the Rust test to check. Exits non-zero with the reason on any failure.
#
# Usage: mcp_client.py --transport http|sse|stdio [--mode legacy|auto|2026-07-28]
#                      --tool NAME --text TEXT TARGET...
#   TARGET: the URL, or for stdio the command and its arguments (after `--`).
import argparse
import asyncio
import json
import sys

from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters


async def run(args: argparse.Namespace) -> dict:
    if args.transport == "http":
        server = args.target[0]
    elif args.transport == "sse":
        server = sse_client(args.target[0])
    else:
        server = StdioServerParameters(command=args.target[0], args=args.target[1:])
    async with Client(server, mode=args.mode, read_timeout_seconds=30) as client:
        # A gateway that has just started may list its tools before every backend is up; a client
        # learns of the rest from notifications/tools/list_changed. Re-listing stands in for that,
        # past the response cache (2026-07-28 lists carry ttlMs, so a cached list would repeat).
        names: list[str] = []
        for attempt in range(100):
            listed = await client.list_tools(cache_mode="use" if attempt == 0 else "refresh")
            names = [tool.name for tool in listed.tools]
            if args.tool in names:
                break
            await asyncio.sleep(0.1)
        result = await client.call_tool(args.tool, {"text": args.text})
        return {
            "protocolVersion": client.protocol_version,
            "serverName": client.server_info.name if client.server_info else None,
            "tools": names,
            "isError": bool(result.is_error) if hasattr(result, "is_error") else bool(result.isError),
            "content": [block.model_dump(mode="json", by_alias=True) for block in result.content],
        }


def report(err: BaseException, prefix: str) -> None:
    """Prints an error and, for exception groups (anyio task groups), every nested cause."""
    print(f"{prefix}{type(err).__name__}: {err}", file=sys.stderr)
    for sub in getattr(err, "exceptions", []):
        report(sub, "  caused by ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["http", "sse", "stdio"], required=True)
    parser.add_argument("--mode", default="legacy")
    parser.add_argument("--tool", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("target", nargs="+")
    args = parser.parse_args()
    try:
        summary = asyncio.run(run(args))
    except BaseException as err:  # noqa: BLE001 - report whatever broke, then fail
        report(err, "mcp_client.py: ")
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
