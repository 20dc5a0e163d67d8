#!/usr/bin/env bash
# Installs the real clients used by servers/agent/tests/real_clients.rs, from PyPI, the npm registry and Debian:
#   - a Python venv with a2a-sdk (A2A 1.0 client; its protobuf types validate the agent's JSON strictly);
#   - @ag-ui/client (HttpAgent) and playwright-core in a node_modules folder;
#   - Debian's `chromium` (apt-get), driven headless by playwright-core.
# Everything lands under $DOCKERHUB_CI_CACHE/agent (default ~/.cache/dockerhub-ci/agent); a stamp file makes a
# second run a no-op. Node: Node 22 from the MCP block when present ($DOCKERHUB_TEST_NODE or
# $DOCKERHUB_CI_CACHE/node22), otherwise the machine's node (20 is enough). Source this file to export:
#   AGENT_CI_PYTHON     the venv's python (a2a-sdk)
#   AGENT_CI_NODE       the node binary
#   AGENT_CI_NODE_PATH  the node_modules folder holding @ag-ui/client and playwright-core
#   AGENT_CI_CHROMIUM   the chromium binary
# A failure returns non-zero and leaves the variables unset (the tests then print SKIP).

AGENT_A2A_SDK_VERSION="1.3.0"
AGENT_AGUI_CLIENT_VERSION="1.0.0"
AGENT_PLAYWRIGHT_VERSION="1.65.1"

agent_install_real_clients() {
  local cache="${DOCKERHUB_CI_CACHE:-$HOME/.cache/dockerhub-ci}/agent"
  local stamp_val="a2a-sdk=$AGENT_A2A_SDK_VERSION agui=$AGENT_AGUI_CLIENT_VERSION playwright-core=$AGENT_PLAYWRIGHT_VERSION"
  local stamp="$cache/.stamp" venv="$cache/a2a-venv" js="$cache/js"
  local node_bin="${DOCKERHUB_TEST_NODE:-${DOCKERHUB_CI_CACHE:-$HOME/.cache/dockerhub-ci}/node22/node_modules/node/bin/node}"
  [ -x "$node_bin" ] || node_bin="$(command -v node || true)"
  [ -n "$node_bin" ] || { echo "agent real clients: node not found" >&2; return 1; }
  mkdir -p "$cache" || return 1
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$stamp_val" ] || [ ! -x "$venv/bin/python" ] \
    || [ ! -d "$js/node_modules/@ag-ui/client" ] || [ ! -d "$js/node_modules/playwright-core" ]; then
    rm -f "$stamp"
    echo "agent real clients: installing into $cache ($stamp_val)"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || return 1
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "a2a-sdk==$AGENT_A2A_SDK_VERSION" || return 1
    mkdir -p "$js" && [ -f "$js/package.json" ] || echo '{"name":"agent-ci-clients","private":true}' >"$js/package.json"
    PATH="$(dirname "$node_bin"):$PATH" npm install --no-audit --no-fund --loglevel=error --prefix "$js" \
      "@ag-ui/client@$AGENT_AGUI_CLIENT_VERSION" "playwright-core@$AGENT_PLAYWRIGHT_VERSION" || return 1
    echo "$stamp_val" >"$stamp"
  fi
  if ! command -v chromium >/dev/null; then
    echo "agent real clients: apt-get install chromium"
    (apt-get install -y -qq chromium >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }) || return 1
  fi
  export AGENT_CI_PYTHON="$venv/bin/python"
  export AGENT_CI_NODE="$node_bin"
  export AGENT_CI_NODE_PATH="$js/node_modules"
  export AGENT_CI_CHROMIUM="$(command -v chromium)"
  echo "agent real clients: a2a-sdk $AGENT_A2A_SDK_VERSION, node $("$AGENT_CI_NODE" --version), @ag-ui/client $AGENT_AGUI_CLIENT_VERSION, playwright-core $AGENT_PLAYWRIGHT_VERSION, $("$AGENT_CI_CHROMIUM" --version 2>/dev/null)"
}

agent_install_real_clients
