#!/usr/bin/env bash
# Installs what the benchmark's peers need, outside the product. Idempotent: a second run installs nothing.
#
#   bench/node_modules     @restatedev/restate-server (the server binary, from its npm platform package),
#                          @restatedev/restate-sdk, @dbos-inc/dbos-sdk — pinned exact in bench/package.json; the
#                          engine files that import them are then type-checked (bench/tsconfig.peers.json)
#   postgresql (Debian)    for DBOS; the harness starts its own instance on a free port with its own data
#                          directory (never the system service)
#
# Also runs the product's own set-up (scripts/setup.sh: Temporal CLI, FerretDB), with --temporal-server: the Temporal
# server itself for `--temporal-server full` (built once from its Go module, about 8 min of CPU).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
bash ../scripts/setup.sh --temporal-server

LOCK_SUM="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -x node_modules/.bin/restate-server ] || [ "$(cat node_modules/.bench-lock-sum 2>/dev/null)" != "$LOCK_SUM" ]; then
  echo "bench setup: npm ci (peers)"
  # @scarf/scarf (pulled in by restate-server) is an install-time analytics ping: keep it off.
  SCARF_ANALYTICS=false npm ci --no-audit --no-fund --ignore-scripts
  echo "$LOCK_SUM" >node_modules/.bench-lock-sum
  # the peers' engine files, which the root build cannot check without these packages
  echo "bench setup: type-checking the peers' engine files (npm run build:bench)"
  npx tsc -p tsconfig.peers.json
fi
./node_modules/.bin/restate-server --version >/dev/null || {
  echo "bench setup: the restate-server binary does not run on this machine ($(uname -sm))" >&2
  exit 1
}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "bench setup: apt-get install postgresql"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y postgresql
  # Debian starts a cluster as a system service on install; the benchmark never uses it.
fi
echo "bench setup: ready"
