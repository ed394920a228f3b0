#!/usr/bin/env bash
# Installs the browser the Web UI test drives: Debian's `chromium` package (playwright-core never downloads one).
# Idempotent: does nothing when the browser is already there.
#
# Usage: bash scripts/setup-browser.sh        (prints the browser's path on success)
#
# CHROMIUM_PATH overrides the browser (default /usr/bin/chromium); it must then exist already.
# Installing needs apt-get and root (as on our developer machines and CI).
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
log() { echo "setup-browser: $*" >&2; }

if [[ -x "$CHROMIUM" ]]; then
  echo "$CHROMIUM"
  exit 0
fi
if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  log "error: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  log "error: $CHROMIUM missing and no apt-get to install it: install Chromium and set CHROMIUM_PATH"
  exit 1
fi
SUDO=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || {
    log "error: installing chromium needs root (or sudo)"
    exit 1
  }
  SUDO=(sudo)
fi
log "installing Debian's chromium package (a few minutes)"
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
[[ -x "$CHROMIUM" ]] || {
  log "error: apt-get installed chromium but $CHROMIUM is missing"
  exit 1
}
echo "$CHROMIUM"
