#!/usr/bin/env bash
# Installs the real MCP clients used by servers/mcp/tests/real_clients.rs, from the npm registry and PyPI only:
#   - Node 22 (npm package `node@22`), because the conformance suite and the inspector need Node >= 22;
#   - @modelcontextprotocol/conformance (both spec eras) and @modelcontextprotocol/inspector;
#   - a Python venv holding the `mcp` SDK.
# Everything lands under $DOCKERHUB_CI_CACHE (default ~/.cache/dockerhub-ci); a stamp file makes a second run a
# no-op that takes well under a second. Source this file to get the variables exported:
#   DOCKERHUB_TEST_NODE         path of the node 22 binary
#   DOCKERHUB_TEST_CONFORMANCE  path of the conformance CLI entry script (run with $DOCKERHUB_TEST_NODE)
#   DOCKERHUB_TEST_INSPECTOR    path of the inspector CLI entry script (run with $DOCKERHUB_TEST_NODE)
#   DOCKERHUB_TEST_PYTHON       path of the venv's python, which has `mcp` installed
# Any failure leaves the variables unset, so the tests print SKIP locally; CI sets DOCKERHUB_REQUIRE_REAL_CLIENTS=1
# to turn a missing client into a failure instead.

# Pinned versions: change them here and the stamp changes with them.
DH_NODE_VERSION="22.23.3"
DH_CONFORMANCE_VERSION="0.2.0-alpha.12"
DH_INSPECTOR_VERSION="2.12.0"
DH_PY_MCP_VERSION="2.3.0"

dh_install_real_clients() {
  local cache="${DOCKERHUB_CI_CACHE:-$HOME/.cache/dockerhub-ci}"
  local stamp_val="node=$DH_NODE_VERSION conformance=$DH_CONFORMANCE_VERSION inspector=$DH_INSPECTOR_VERSION mcp=$DH_PY_MCP_VERSION"
  local stamp="$cache/.stamp"
  local node_dir="$cache/node22" js_dir="$cache/js" venv="$cache/venv"
  local node_bin="$node_dir/node_modules/node/bin/node"
  local conformance="$js_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  local inspector="$js_dir/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
  mkdir -p "$cache" || return 1
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$stamp_val" ] || [ ! -x "$node_bin" ] || [ ! -f "$conformance" ] \
    || [ ! -f "$inspector" ] || [ ! -x "$venv/bin/python" ]; then
    rm -f "$stamp"
    echo "real MCP clients: installing into $cache ($stamp_val)"
    command -v npm >/dev/null || { echo "real MCP clients: npm not found" >&2; return 1; }
    command -v python3 >/dev/null || { echo "real MCP clients: python3 not found" >&2; return 1; }
    npm install --no-audit --no-fund --loglevel=error --prefix "$node_dir" "node@$DH_NODE_VERSION" || return 1
    # Use node 22's PATH for the installs so that engine checks and install scripts see Node 22.
    PATH="$(dirname "$node_bin"):$PATH" npm install --no-audit --no-fund --loglevel=error --prefix "$js_dir" \
      "@modelcontextprotocol/conformance@$DH_CONFORMANCE_VERSION" \
      "@modelcontextprotocol/inspector@$DH_INSPECTOR_VERSION" || return 1
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv" || return 1
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mcp==$DH_PY_MCP_VERSION" || return 1
    echo "$stamp_val" >"$stamp"
  fi
  export DOCKERHUB_TEST_NODE="$node_bin"
  export DOCKERHUB_TEST_CONFORMANCE="$conformance"
  export DOCKERHUB_TEST_INSPECTOR="$inspector"
  export DOCKERHUB_TEST_PYTHON="$venv/bin/python"
  echo "real MCP clients: node $("$DOCKERHUB_TEST_NODE" --version), conformance $DH_CONFORMANCE_VERSION, inspector $DH_INSPECTOR_VERSION, python mcp $DH_PY_MCP_VERSION"
}

dh_install_real_clients
