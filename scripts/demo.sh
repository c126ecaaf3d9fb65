#!/usr/bin/env bash
# A demo of liveproxyd against built-in fake sites, under a temporary root:
# two live sites (UNIX and TCP), one dead site, a few queries through the
# proxy, the status table, then a clean shutdown. Needs `make build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin
root=$(mktemp -d /tmp/liveproxyd-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
mkdir -p "$root/etc/check_mk" "$root/sites"
"$bin/fakesite" -listen "unix:$root/sites/munich.sock" -hosts 3 -services 2 &
pids+=($!)
"$bin/fakesite" -listen "tcp:127.0.0.1:$port" -hosts 2 -services 1 -latency 20ms &
pids+=($!)
cat > "$root/etc/check_mk/liveproxyd.mk" <<MK
# Written like Checkmk writes it.
sites.update({
    'munich': {'socket': '$root/sites/munich.sock', 'channels': 3},
    'berlin': {'socket': ('tcp', {'address': ('127.0.0.1', $port), 'tls': ('plain_text', {})}),
               'channels': 2, 'heartbeat': (1, 1.0)},
    'hamburg': {'socket': '$root/sites/nothing-listens-here.sock', 'connect_retry': 2.0},
})
MK
echo "== starting liveproxyd --root $root"
"$bin/liveproxyd" -g --root "$root" > "$root/daemon.log" 2>&1 &
daemon=$!
pids+=($daemon)
for _ in $(seq 50); do
  [ -S "$root/tmp/run/liveproxy/munich" ] && [ -S "$root/tmp/run/liveproxy/berlin" ] && break
  sleep 0.1
done
sleep 1.5 # let the channels connect and answer their first heartbeats

q() { echo "\$ lq -s tmp/run/liveproxy/$1 ${*:2}"; "$bin/lq" -s "$root/tmp/run/liveproxy/$1" "${@:2}" || echo "(exit $?)"; echo; }
q munich "GET hosts" "Columns: name state"
q berlin "GET services" "Columns: host_name description state"
q berlin "GET status" "Columns: program_start num_services"
q munich "GET nosuchtable"
q hamburg "GET hosts" "Columns: name"
echo "\$ liveproxyd status"
sleep 2.5 # the state file is rewritten every few seconds
"$bin/liveproxyd" status --root "$root" || echo "(exit $? — a site is dead, as intended)"
echo
echo "== stopping liveproxyd (SIGTERM)"
kill -TERM "$daemon"
wait "$daemon" && echo "exit 0"
echo "== daemon log"
cat "$root/daemon.log"
