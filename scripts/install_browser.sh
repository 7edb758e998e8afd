#!/usr/bin/env bash
# Install Debian's Chromium for PDF reports and the browser tests (skipped when present).
# Needs root (or sudo) and the Debian package mirror; on failure the browser tests skip
# with the reason, and PDF output says how to install it.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(chromium --version 2>/dev/null)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "install_browser: not root and no sudo; install Debian's 'chromium' package by hand" >&2
    exit 0
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: no apt-get (not Debian/Ubuntu); install Chromium by hand" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core >/dev/null \
  && echo "chromium: $(chromium --version 2>/dev/null)" \
  || echo "install_browser: apt-get could not install chromium; browser tests will skip" >&2
exit 0
