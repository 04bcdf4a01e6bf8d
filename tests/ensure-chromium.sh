#!/usr/bin/env bash
# The browser tests drive Debian's Chromium; install it when it is missing (never a browser
# download of Playwright's own).
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-chromium: installing Debian's chromium for the browser tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "ensure-chromium: the browser tests need Debian's chromium: apt-get install chromium" >&2
  exit 1
fi
