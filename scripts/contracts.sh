#!/usr/bin/env bash
# The proto contracts' checks (docs/ARCHITECTURE.md "Contracts"; CI runs `check` through
# scripts/test-all.sh).
#
#   scripts/contracts.sh check     buf lint, and buf breaking against the last released contract
#   scripts/contracts.sh release   record the present contract as the last released one
#                                  (proto/released/pbm.binpb: a buf image, committed with the release)
#
# buf comes from the npm registry (@bufbuild/buf, pinned below) into target/tools unless the
# `buf` on PATH is that version. Knob: PBM_TOOLS_DIR (where buf is installed).
set -euo pipefail

cd "$(dirname "$0")/.."
BUF_VERSION=1.75.0
RELEASED=proto/released/pbm.binpb
TOOLS="${PBM_TOOLS_DIR:-$(pwd)/target/tools}"

die() { echo "contracts.sh: error: $*" >&2; exit 1; }

buf_bin() {
  if command -v buf >/dev/null 2>&1 && [ "$(buf --version)" = "$BUF_VERSION" ]; then
    command -v buf
    return
  fi
  local b="$TOOLS/buf-$BUF_VERSION/node_modules/.bin/buf"
  if [ ! -x "$b" ] || [ "$("$b" --version 2>/dev/null)" != "$BUF_VERSION" ]; then
    command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js (Debian: apt-get install -y npm) or put buf $BUF_VERSION on PATH"
    mkdir -p "$TOOLS/buf-$BUF_VERSION"
    npm install --prefix "$TOOLS/buf-$BUF_VERSION" --no-audit --no-fund --silent "@bufbuild/buf@$BUF_VERSION" >&2 \
      || die "could not install @bufbuild/buf@$BUF_VERSION from npm"
  fi
  echo "$b"
}

case "${1:-check}" in
  check)
    BUF="$(buf_bin)"
    echo "buf $("$BUF" --version): lint"
    "$BUF" lint
    [ -f "$RELEASED" ] || die "$RELEASED missing: the last released contract (scripts/contracts.sh release)"
    echo "buf breaking against $RELEASED"
    "$BUF" breaking --against "$RELEASED"
    # The rules themselves: a field deleted without reserving it must be refused.
    probe="$(mktemp -d)"
    trap 'rm -rf "$probe"' EXIT
    cp -r buf.yaml proto "$probe/"
    sed -i '/int32 page_size = 1;/d' "$probe/proto/pbm/common/v1/common.proto"
    if (cd "$probe" && "$BUF" breaking --against "$OLDPWD/$RELEASED" >/dev/null 2>&1); then
      die "buf breaking let an unreserved field deletion through: check buf.yaml"
    fi
    echo "contracts: lint clean, nothing breaking (and an unreserved deletion is refused)"
    ;;
  release)
    BUF="$(buf_bin)"
    "$BUF" lint
    mkdir -p "$(dirname "$RELEASED")"
    "$BUF" build --exclude-source-info -o "$RELEASED"
    echo "recorded $RELEASED ($(wc -c < "$RELEASED") bytes): commit it with the release"
    ;;
  -h|--help) sed -n '2,11p' "$0" ;;
  *) die "unknown command: $1 (see --help)" ;;
esac
