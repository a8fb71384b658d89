#!/usr/bin/env bash
# Collector benchmark. For each network setting it starts one Events API simulator and measures,
# BENCH_RUNS times each, against that same simulator and a fresh fake-gcs-server:
#   pull floor   `opsim pull`: every page pulled and discarded (cursor pagination is sequential, so
#                fetching is the collector's floor);
#   write floor  `write_floor`: the objects a collector run produced, written to the same storage
#                endpoint as create-only objects, one after another, and nothing else;
#   collector    `collector run-once` draining the whole backlog into the bucket.
# Settings: "zero" (no added latency, BENCH_EVENTS audit events, default 1,000,000) and "latency"
# (BENCH_PAGE_DELAY_MS per page, default 100, via `opsim --page-delay-ms`, and BENCH_STORAGE_DELAY_MS
# per storage request, default 50, via testkit's `storage-proxy` in front of the emulator;
# BENCH_LATENCY_EVENTS events, default 60,000). Prints min/median/max wall time, CPU seconds per
# million events and peak RSS of each, and the collector's ratios to the floors of the same run.
# BENCH_RUNS (default 5) sets the number of runs.
# Measurement options: BENCH_SETTINGS (default "zero latency") picks the settings; BENCH_PAGE_SIZE
# (default 1000) the events per page (PAGE_SIZE, and the pull floor's page size); BENCH_BASELINE=PATH
# also measures another collector binary in the same runs (row "baseline"), so two builds compare
# against one floor; BENCH_IDLE=1 runs the collectors with the fetcher's idle-time record on
# (RUST_LOG=collector::pipeline::idle=debug) and prints each run's distribution.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
zero_events=${BENCH_EVENTS:-1000000}
latency_events=${BENCH_LATENCY_EVENTS:-60000}
page_delay=${BENCH_PAGE_DELAY_MS:-100}
storage_delay=${BENCH_STORAGE_DELAY_MS:-50}
runs=${BENCH_RUNS:-5}
settings=${BENCH_SETTINGS:-zero latency}
page_size=${BENCH_PAGE_SIZE:-1000}
baseline=${BENCH_BASELINE:-}
token=bench-token

fake_gcs=${TESTKIT_FAKE_GCS_SERVER:-$root/.tools/bin/fake-gcs-server}
if [ ! -x "$fake_gcs" ]; then
  fake_gcs=$(command -v fake-gcs-server || true)
fi
if [ -z "$fake_gcs" ]; then
  bash scripts/install-test-deps.sh >&2
  fake_gcs=$root/.tools/bin/fake-gcs-server
fi
# BENCH_PROFILE=dev runs unoptimized binaries: a quick check of this script, not a measurement.
if [ "${BENCH_PROFILE:-release}" = dev ]; then
  cargo build --locked -p collector -p opsim -p testkit --bins --example write_floor >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/debug"
else
  cargo build --release --locked -p collector -p opsim -p testkit --bins --example write_floor >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/release"
fi
work=$(mktemp -d)
opsim_pid='' gcs_pid='' proxy_pid=''
# Only processes this script started and that still run: a stopped one's id is forgotten at once.
cleanup() {
  for pid in $opsim_pid $gcs_pid $proxy_pid; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

# The simulator of one setting, with the whole backlog inside the collector's lookback.
start_opsim() { # EVENTS PAGE_DELAY_MS
  OPSIM_TOKEN=$token "$bin/opsim" serve --port 0 --audit-events "$1" --history-minutes 60 \
    --page-delay-ms "$2" >"$work/opsim.out" 2>"$work/opsim.err" &
  opsim_pid=$!
  api=$(wait_line "$work/opsim.out" "opsim listening on ")
}

# A fresh fake-gcs-server (nothing kept from earlier runs) with the bucket, and, with a delay, the
# storage proxy in front of it; sets $storage to the endpoint clients use.
start_storage() { # DELAY_MS
  stop_storage
  local port
  port=$(free_port)
  "$fake_gcs" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
    -external-url "http://127.0.0.1:$port" -log-level error >"$work/gcs.log" 2>&1 &
  gcs_pid=$!
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/storage/v1/b?project=bench" >/dev/null && break; sleep 0.05; done
  curl -fs -X POST "http://127.0.0.1:$port/storage/v1/b?project=bench" -d '{"name":"bench-bucket"}' >/dev/null
  storage="http://127.0.0.1:$port"
  if [ "$1" -gt 0 ]; then
    "$bin/storage-proxy" --upstream "$storage" --delay-ms "$1" >"$work/proxy.out" 2>&1 &
    proxy_pid=$!
    storage=$(wait_line "$work/proxy.out" "storage-proxy listening on ")
  fi
}
stop_storage() {
  for pid in ${gcs_pid:-} ${proxy_pid:-}; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  gcs_pid='' proxy_pid=''
}

# measure NAME COMMAND...: wall seconds, CPU seconds (user+sys), peak RSS KiB into $work/NAME.time
measure() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "$name failed:" >&2; cat "$work/$name.err" "$work/$name.out" >&2; exit 1; }
}

collector_env=(OP_BEARER_TOKEN="$token" PAGE_SIZE="$page_size" MAX_RECORDS=1000000000 LOOKBACK_HOURS=2
  RUN_BUDGET_SECONDS=3600 LOG_FORMAT=json)
if [ "${BENCH_IDLE:-0}" = 1 ]; then collector_env+=("RUST_LOG=info,collector::pipeline::idle=debug"); fi
kinds=(collector)
if [ -n "$baseline" ]; then kinds+=(baseline); fi
landed() { grep -o '"events":[0-9]*' "$work/$1.out" | head -1 | cut -d: -f2; }

for setting in $settings; do
  if [ "$setting" = zero ]; then
    events=$zero_events pdelay=0 sdelay=0
  else
    events=$latency_events pdelay=$page_delay sdelay=$storage_delay
  fi
  echo "$setting" >"$work/$setting.setting"
  printf '%s %s %s\n' "$events" "$pdelay" "$sdelay" >>"$work/$setting.setting"
  start_opsim "$events" "$pdelay"
  # The objects the write floor writes: one collector run into a local folder, not measured.
  env "${collector_env[@]}" OP_API_BASE="$api" SINK_URL="file://$work/objects-$setting" \
    "$bin/collector" run-once >"$work/prep-$setting.out" 2>&1
  for i in $(seq "$runs"); do
    echo "[bench] $setting run $i of $runs" >&2
    measure "$setting-pull-$i" "$bin/opsim" pull --base "$api" --token "$token" --page-size "$page_size"
    start_storage "$sdelay"
    measure "$setting-write-$i" "$bin/examples/write_floor" --from "$work/objects-$setting" \
      --bucket bench-bucket --endpoint "$storage"
    for kind in "${kinds[@]}"; do
      if [ "$kind" = baseline ]; then exe=$baseline; else exe=$bin/collector; fi
      start_storage "$sdelay"
      measure "$setting-$kind-$i" env "${collector_env[@]}" OP_API_BASE="$api" GCS_BUCKET=bench-bucket \
        STORAGE_EMULATOR_HOST="$storage" "$exe" run-once
      got=$(landed "$setting-$kind-$i")
      [ "$got" = "$events" ] || { echo "the $kind landed ${got:-no} events, expected $events" >&2; cat "$work/$setting-$kind-$i.out" >&2; exit 1; }
      if [ "${BENCH_IDLE:-0}" = 1 ]; then
        echo "[bench] $setting $kind run $i: fetcher idle" >&2
        grep -h '"fetcher' "$work/$setting-$kind-$i.out" "$work/$setting-$kind-$i.err" | python3 -c '
import json, sys
for line in sys.stdin:
    f = json.loads(line)
    f = f.get("fields", f)
    cause = f.get("cause") or ("requests" if "requests" in f else "all")
    count = f.get("count", f.get("gaps", f.get("requests")))
    print("  %-9s n=%-4s p50 %7.2f  p95 %7.2f  max %7.2f  total %8.1f ms" % (
          cause, count, f["p50_ms"], f["p95_ms"], f["max_ms"], f["total_ms"]))
' >&2 || true
      fi
    done
  done
  stop_storage
  kill "$opsim_pid"; wait "$opsim_pid" 2>/dev/null || true
  opsim_pid=''
done

python3 - "$work" "$runs" "$settings" "${kinds[@]}" <<'EOF'
import re, statistics, sys
work, runs, settings, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
def load(name):
    wall, user, sys_, rss = open(f"{work}/{name}.time").read().split()
    return float(wall), float(user) + float(sys_), int(rss) / 1024
def spread(xs, fmt="{:.2f}"):
    return " / ".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))
print("min / median / max over %d runs" % runs)
for setting in settings:
    _, line = open(f"{work}/{setting}.setting").read().splitlines()
    events, pdelay, sdelay = map(int, line.split())
    print(f"\n{setting}: {events:,} audit events, {pdelay} ms per page, {sdelay} ms per storage request")
    print("%-12s %-24s %-24s %-20s" % ("run", "wall s", "CPU s per M events", "peak RSS MiB"))
    got = {}
    for kind in ["pull", "write"] + kinds:
        rows = [load(f"{setting}-{kind}-{i}") for i in range(1, runs + 1)]
        got[kind] = rows
        print("%-12s %-24s %-24s %-20s" % (kind, spread([r[0] for r in rows]),
              spread([r[1] * 1e6 / events for r in rows]), spread([r[2] for r in rows], "{:.1f}")))
    pull = [r[0] for r in got["pull"]]
    write = [r[0] for r in got["write"]]
    pages = int(re.search(r"in (\d+) pages", open(f"{work}/{setting}-pull-1.out").read()).group(1))
    for kind in kinds:
        coll = [r[0] for r in got[kind]]
        vs_pull = [c / p for c, p in zip(coll, pull)]
        vs_larger = [c / max(p, w) for c, p, w in zip(coll, pull, write)]
        gap = [(c - p) * 1e3 / pages for c, p in zip(coll, pull)]
        print(f"{kind}:")
        print("  / pull floor, per run:              " + spread(vs_pull))
        print("  / larger of pull and write, per run: " + spread(vs_larger))
        print(f"  time past the pull floor per page ({pages} pages), ms: " + spread(gap))
        print("  medians: %s %.2f s, pull %.2f s, write %.2f s: %.2fx pull, %.2fx the larger floor" % (
            kind, statistics.median(coll), statistics.median(pull), statistics.median(write),
            statistics.median(coll) / statistics.median(pull),
            statistics.median(coll) / max(statistics.median(pull), statistics.median(write))))
EOF
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
