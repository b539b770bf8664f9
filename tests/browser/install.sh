#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium and playwright-core
# (pinned in package-lock.json). Idempotent and instant when both are there.
set -euo pipefail
cd "$(dirname "$0")"

chromium=${KEYTURN_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "==> installing Chromium (Debian package, ~1 min)"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to apt-get install chromium (or set KEYTURN_CHROMIUM)"; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing playwright-core (npm ci)"
  npm ci --no-audit --no-fund --silent
fi
