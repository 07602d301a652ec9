# A small MCP server written with the Python `mcp` SDK: a real third-party backend for the gateway
# tests, over stdio.
from mcp.server.mcpserver import MCPServer

server = MCPServer("python-backend")


@server.tool()
def shout(text: str) -> str:
    """Returns the text in capitals."""
    return text.upper()


@server.tool()
def multiply(a: int, b: int) -> int:
    """Multiplies two integers."""
    return a * b


if __name__ == "__main__":
    server.run("stdio")
