#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium and playwright-core
# (pinned in package-lock.json). Idempotent and instant when both are there.
set -euo pipefail
cd "$(dirname "$0")"

die() { echo "install.sh: $*" >&2; exit 1; }

if [ -n "${KEYTURN_CHROMIUM:-}" ]; then
  # Somebody else's browser: use it, never apt-get a different one.
  [ -x "$KEYTURN_CHROMIUM" ] || die "KEYTURN_CHROMIUM=$KEYTURN_CHROMIUM is not an executable"
elif [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Chromium (Debian package chromium, 15-65 s)"
  command -v apt-get >/dev/null || die "no apt-get: install Chromium yourself and set KEYTURN_CHROMIUM to it"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "need root or sudo to apt-get install chromium (or set KEYTURN_CHROMIUM)"
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || die "apt-get update failed"
  $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null || die "apt-get install chromium failed"
  [ -x /usr/bin/chromium ] || die "apt-get installed chromium but /usr/bin/chromium is missing"
fi

if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing playwright-core (npm ci)"
  command -v npm >/dev/null || die "npm not found: install Node.js >= 20"
  npm ci --no-audit --no-fund --silent || die "npm ci failed"
fi
