#!/usr/bin/env bash
# Installs what the tests and benchmarks need on a fresh Debian machine: the
# Go modules, the real Livestatus parts we test against (Icinga 2 and the
# Perl client) and the reference hops of `make bench` (HAProxy and socat).
# Idempotent: a machine that has them already is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v icinga2 >/dev/null 2>&1 || need+=(icinga2)
perl -MMonitoring::Livestatus -e1 >/dev/null 2>&1 || need+=(libmonitoring-livestatus-perl)
# Debian installs haproxy in /usr/sbin, outside some users' PATH.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v socat >/dev/null 2>&1 || need+=(socat)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
go mod download
