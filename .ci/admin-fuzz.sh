#!/usr/bin/env bash
# Fuzzes the admin REST API from its own OpenAPI document with schemathesis: every operation, with
# generated valid and invalid inputs and stateful sequences, must answer without a 5xx and exactly
# as the document says. Runs against a real `toolport serve` on a fresh data directory.
#
# Usage: .ci/admin-fuzz.sh [extra schemathesis options]   (e.g. --max-examples 200)
# Env: TOOLPORT_CI_CACHE (peers cache, see peers.sh), CARGO_TARGET_DIR,
#      SCHEMATHESIS_SEED (default: a fixed seed, so CI runs are repeatable; "random" for a new one).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=peers.sh
source .ci/peers.sh

echo "== build"
cargo build --quiet -p toolport
TARGET="${CARGO_TARGET_DIR:-target}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/toolport-admin-fuzz.XXXXXX")"
GATEWAY_PID=""
cleanup() {
  [[ -n "$GATEWAY_PID" ]] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TOKEN="tp_admin_fuzz_$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
echo '{"mcpServers": {}}' >"$WORK/toolport.json"
TOOLPORT_ADMIN_TOKEN="$TOKEN" "$TARGET/debug/toolport" serve --config "$WORK/toolport.json" \
  --data-dir "$WORK/data" --listen "127.0.0.1:$PORT" 2>"$WORK/gateway.log" &
GATEWAY_PID=$!
for _ in $(seq 1 200); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done

SEED_ARGS=(--seed "${SCHEMATHESIS_SEED:-20261121}")
[[ "${SCHEMATHESIS_SEED:-}" == "random" ]] && SEED_ARGS=()
echo "== schemathesis against http://127.0.0.1:$PORT/api/v1/openapi.json"
if ! "$TOOLPORT_SCHEMATHESIS" --config-file .ci/schemathesis.toml run \
  "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  -H "Authorization: Bearer $TOKEN" --checks all --max-examples 50 "${SEED_ARGS[@]}" \
  --no-color "$@"; then
  echo "== gateway log (last 40 lines)"
  tail -40 "$WORK/gateway.log"
  exit 1
fi
if grep -q "$TOKEN" "$WORK/gateway.log"; then
  echo "the administrator's token appears in the gateway log" >&2
  exit 1
fi
echo "== admin API fuzzing passed"
