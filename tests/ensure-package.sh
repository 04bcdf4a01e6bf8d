#!/usr/bin/env bash
# Install one of Debian's packages when its command is missing, as root; else say how.
#   tests/ensure-package.sh chromium "the browser tests"      (never Playwright's own download)
#   tests/ensure-package.sh wrk "the STOP webhook load"
set -euo pipefail
package=$1 purpose=$2
if command -v "$package" >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-package: installing Debian's $package for $purpose" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
else
  echo "ensure-package: Debian's $package is missing, for $purpose: apt-get install $package" >&2
  exit 1
fi
