# Installs the pinned test peers (Node 22, the MCP conformance suite, server-everything, MCP
# Inspector, Python `mcp`, schemathesis) into a cache outside the clone and exports the variables the tests read.
# Sourced by .ci/run and .ci/conformance.sh; idempotent: a pinned set already installed is reused.
#
# Exports: CI_CACHE, TOOLPORT_NODE_BIN (dir with node 22 + npm-installed CLIs),
# TOOLPORT_CONFORMANCE_BIN (stable suite), TOOLPORT_CONFORMANCE_NEXT_BIN (2026-07-28 pre-release),
# TOOLPORT_EVERYTHING_JS, TOOLPORT_INSPECTOR, TOOLPORT_PYTHON, TOOLPORT_SCHEMATHESIS.

CI_CACHE="${TOOLPORT_CI_CACHE:-${CI_CACHE:-$HOME/.cache/toolport-ci}}"
export CI_CACHE

PIN_NODE="node@22"
PIN_CONFORMANCE="@modelcontextprotocol/conformance@0.1.16"
PIN_CONFORMANCE_NEXT="@modelcontextprotocol/conformance@0.2.0-alpha.12"
PIN_EVERYTHING="@modelcontextprotocol/server-everything@2026.8.31"
PIN_INSPECTOR="@modelcontextprotocol/inspector@2.12.0"
PIN_PYTHON_MCP="mcp==2.3.0"
PIN_SCHEMATHESIS="schemathesis==4.32.5"

# npm_install DIR PACKAGE... : installs into DIR unless DIR/.pins already lists exactly these.
npm_install() {
  local dir=$1
  shift
  if [[ -f "$dir/.pins" && "$(cat "$dir/.pins")" == "$*" ]]; then
    return 0
  fi
  command -v npm >/dev/null || {
    echo "peers.sh: npm is needed to install Node 22 and the npm peers" >&2
    return 1
  }
  echo "peers.sh: installing $* into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  (
    cd "$dir"
    echo '{"name": "toolport-ci-peers", "private": true}' >package.json
    npm install --no-audit --no-fund --loglevel=error "$@" >&2
    # npm 11 runs no install scripts unless approved; the `node` package needs its own.
    if [[ " $* " == *" node@"* ]]; then
      npm install-scripts approve node >&2
      npm rebuild node >&2
    fi
  )
  echo "$*" >"$dir/.pins"
}

npm_install "$CI_CACHE/npm" "$PIN_NODE" "$PIN_CONFORMANCE" "$PIN_EVERYTHING" "$PIN_INSPECTOR"
npm_install "$CI_CACHE/npm-next" "$PIN_CONFORMANCE_NEXT"

export TOOLPORT_NODE_BIN="$CI_CACHE/npm/node_modules/.bin"
[[ "$("$TOOLPORT_NODE_BIN/node" --version)" == v22.* ]] || {
  echo "peers.sh: $TOOLPORT_NODE_BIN/node is not Node 22 (delete $CI_CACHE/npm to reinstall)" >&2
  return 1
}
export TOOLPORT_CONFORMANCE_BIN="$TOOLPORT_NODE_BIN/conformance"
export TOOLPORT_CONFORMANCE_NEXT_BIN="$TOOLPORT_NODE_BIN/node $CI_CACHE/npm-next/node_modules/@modelcontextprotocol/conformance/dist/index.js"
export TOOLPORT_EVERYTHING_JS="$CI_CACHE/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
export TOOLPORT_INSPECTOR="$TOOLPORT_NODE_BIN/node $CI_CACHE/npm/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js --cli"

if [[ ! -f "$CI_CACHE/venv/.pins" || "$(cat "$CI_CACHE/venv/.pins")" != "$PIN_PYTHON_MCP $PIN_SCHEMATHESIS" ]]; then
  echo "peers.sh: installing $PIN_PYTHON_MCP and $PIN_SCHEMATHESIS into $CI_CACHE/venv" >&2
  rm -rf "$CI_CACHE/venv"
  python3 -m venv "$CI_CACHE/venv"
  "$CI_CACHE/venv/bin/pip" install --quiet --disable-pip-version-check "$PIN_PYTHON_MCP" "$PIN_SCHEMATHESIS" >&2
  echo "$PIN_PYTHON_MCP $PIN_SCHEMATHESIS" >"$CI_CACHE/venv/.pins"
fi
export TOOLPORT_PYTHON="$CI_CACHE/venv/bin/python"
export TOOLPORT_SCHEMATHESIS="$CI_CACHE/venv/bin/schemathesis"
