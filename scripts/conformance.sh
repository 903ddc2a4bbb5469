#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, on Node 22) against a real
# persona-mcp over streamable HTTP: every generic server scenario that needs none of the suite's
# own fixture tools. Run from the project's venv (persona-mcp on PATH); CI runs it.
#   scripts/conformance.sh            # installs Node 22 and the suite under .cache/node-tools once
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${NODE_TOOLS_DIR:-$ROOT/.cache/node-tools}"
SUITE_VERSION="0.1.16"
SCENARIOS=(server-initialize ping logging-set-level tools-list resources-list prompts-list
           completion-complete dns-rebinding-protection server-sse-multiple-streams)

mkdir -p "$TOOLS"
(
  cd "$TOOLS"
  [ -f package.json ] || npm init -y >/dev/null
  npm install --silent --no-audit --no-fund node@22 "@modelcontextprotocol/conformance@$SUITE_VERSION"
)
export PATH="$TOOLS/node_modules/.bin:$PATH"

data="$(mktemp -d)"
port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PERSONA_MCP_DATA_DIR="$data" PERSONA_MCP_LOG_LEVEL=WARNING HF_HUB_OFFLINE=1 \
  persona-mcp serve --transport http --port "$port" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

failed=()
for scenario in "${SCENARIOS[@]}"; do
  if conformance server --url "http://127.0.0.1:$port/mcp" --scenario "$scenario" > "$data/$scenario.log" 2>&1; then
    echo "conformance: $scenario passed"
  else
    echo "conformance: $scenario FAILED"
    cat "$data/$scenario.log"
    failed+=("$scenario")
  fi
done
node --version | sed 's/^/conformance: node /'
if [ "${#failed[@]}" -gt 0 ]; then
  echo "conformance: ${#failed[@]} of ${#SCENARIOS[@]} scenarios failed: ${failed[*]}"
  exit 1
fi
echo "conformance: all ${#SCENARIOS[@]} scenarios passed (suite $SUITE_VERSION)"
