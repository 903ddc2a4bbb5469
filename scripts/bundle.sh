#!/usr/bin/env bash
# The one-click bundle for Claude Desktop: validate manifest.json with the official MCPB CLI
# (@anthropic-ai/mcpb, on Node 22) and pack persona-mcp.mcpb from the project (.mcpbignore says
# what stays out). With --check, also unpack it and serve it the way a host does (`uv run` in the
# bundle's folder, which installs the dependencies from its pyproject.toml), then call a tool.
#   scripts/bundle.sh [--check]          # writes persona-mcp.mcpb at the project root
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${NODE_TOOLS_DIR:-$ROOT/.cache/node-tools}"
MCPB_VERSION="2.1.2"

mkdir -p "$TOOLS"
(
  cd "$TOOLS"
  [ -f package.json ] || npm init -y >/dev/null
  npm install --silent --no-audit --no-fund node@22 "@anthropic-ai/mcpb@$MCPB_VERSION"
)
export PATH="$TOOLS/node_modules/.bin:$PATH"

cd "$ROOT"
mcpb validate manifest.json
rm -f persona-mcp.mcpb
mcpb pack . persona-mcp.mcpb >/dev/null
mcpb info persona-mcp.mcpb
python - <<'PY'
import json, zipfile
names = zipfile.ZipFile("persona-mcp.mcpb").namelist()
needed = ["manifest.json", "server.py", "pyproject.toml", "README.md", "icon.png",
          "core/app.py", "persona_mcp/cli.py", "personas/aria.yaml"]
missing = [n for n in needed if n not in names]
leaked = sorted({n.split("/")[0] for n in names} & {"tests", "docs", "scripts", ".venv", ".git", "site"})
manifest = json.loads(zipfile.ZipFile("persona-mcp.mcpb").read("manifest.json"))
version = next(l.split('"')[1] for l in open("pyproject.toml") if l.startswith("version"))
assert not missing, f"the bundle lacks {missing}"
assert not leaked, f"the bundle carries {leaked}"
assert manifest["version"] == version, f"manifest.json says {manifest['version']}, pyproject.toml {version}"
print(f"bundle: {len(names)} files, version {version}; nothing missing, nothing extra")
PY

if [ "${1:-}" = "--check" ]; then
  python -m pip install --quiet "uv>=0.5"
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  mcpb unpack persona-mcp.mcpb "$scratch/bundle" >/dev/null
  UV_CACHE_DIR="${UV_CACHE_DIR:-$ROOT/.cache/uv}" python scripts/check_bundle.py "$scratch/bundle"
fi
