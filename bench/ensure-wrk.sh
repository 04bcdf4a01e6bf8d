#!/usr/bin/env bash
# The STOP webhook load is sent by wrk, from Debian's packages; install it when it is missing.
set -euo pipefail
if command -v wrk >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-wrk: installing Debian's wrk for the STOP webhook load" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
else
  echo "ensure-wrk: the STOP webhook load needs wrk: apt-get install wrk" >&2
  exit 1
fi
