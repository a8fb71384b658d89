#!/usr/bin/env bash
# Collector benchmark: drains BENCH_EVENTS audit events (default 1,000,000) from the Events API
# simulator into fake-gcs-server and into a local folder, and compares with the floor: a client that
# pulls every page from the same simulator and discards it. Prints events/s, CPU seconds per million
# events, peak RSS, and the ratio of the collector's wall time to the floor's.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
events=${BENCH_EVENTS:-1000000}
token=bench-token

bash scripts/install-test-deps.sh >&2
cargo build --release --locked -p collector -p opsim >&2
bin="${CARGO_TARGET_DIR:-$root/target}/release"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The simulator, in its own process, with the whole backlog inside the collector's lookback.
OPSIM_TOKEN=$token "$bin/opsim" serve --port 0 --audit-events "$events" --history-minutes 60 >"$work/opsim.out" 2>"$work/opsim.err" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/opsim.out" 2>/dev/null && break; sleep 0.1; done
api=$(sed -n 's/^opsim listening on //p' "$work/opsim.out")
[ -n "$api" ] || { echo "the simulator did not start" >&2; exit 1; }

# fake-gcs-server on a free port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$root/.tools/bin/fake-gcs-server" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
  -external-url "http://127.0.0.1:$port" -log-level error >"$work/gcs.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/storage/v1/b?project=bench" >/dev/null && break; sleep 0.1; done
curl -fs -X POST "http://127.0.0.1:$port/storage/v1/b?project=bench" -d '{"name":"bench-bucket"}' >/dev/null

# measure NAME COMMAND...: wall seconds, CPU seconds (user+sys), peak RSS KiB into $work/NAME.time
measure() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"
}

measure floor "$bin/opsim" pull --base "$api" --token "$token" --page-size 1000

collector_env=(OP_API_BASE="$api" OP_BEARER_TOKEN="$token" PAGE_SIZE=1000 MAX_RECORDS=1000000000
  LOOKBACK_HOURS=2 RUN_BUDGET_SECONDS=3600 LOG_FORMAT=json)
measure gcs env "${collector_env[@]}" GCS_BUCKET=bench-bucket STORAGE_EMULATOR_HOST="127.0.0.1:$port" "$bin/collector" run-once
measure local env "${collector_env[@]}" SINK_URL="file://$work/sink" "$bin/collector" run-once

landed() { grep -o '"events":[0-9]*' "$work/$1.out" | head -1 | cut -d: -f2; }
for sink in gcs local; do
  got=$(landed "$sink")
  [ "$got" = "$events" ] || { echo "the $sink run landed ${got:-no} events, expected $events" >&2; cat "$work/$sink.err" >&2; exit 1; }
done

read -r floor_wall _ <"$work/floor.time"
printf '%-26s %9s %12s %14s %12s %10s\n' run "wall s" "events/s" "CPU s/M evts" "peak RSS" "vs floor"
row() {
  local name=$1 wall user sys rss
  read -r wall user sys rss <"$work/$2.time"
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v e="$events" -v f="$floor_wall" 'BEGIN {
    printf "%-26s %9.2f %12.0f %14.2f %9.1f MiB %9.2fx\n", n, w, e / w, (u + s) * 1000000 / e, r / 1024, w / f }'
}
row "floor (pull and discard)" floor
row "collector -> fake-gcs" gcs
row "collector -> local folder" local
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m); events: $events"
