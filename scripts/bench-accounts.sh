#!/usr/bin/env bash
# Several-accounts benchmark: one collector run (`run-once`) per size in BENCH_ACCOUNT_SIZES
# (default "4 20 60" accounts) of three streams each, every account with a backlog of
# BENCH_ACCOUNT_EVENTS events per stream (default 20,000), ACCOUNTS_IN_PARALLEL accounts at once
# (default 4), into a local folder. Every account reads the same simulator with the same token (as
# many accounts of one host would); memory should follow the parallel bound, not the number of
# accounts, and wall time the number of events. Checks that each run commits every event, then
# prints, per size over BENCH_RUNS runs (default 3, after a warm-up): wall seconds, wall and CPU
# seconds per million events and peak RSS (min / median / max), and each size's medians over the
# smallest size's (the floor of the same run).
#
# BENCH_ACCOUNTS_MODE=steady measures the steady state of a one-minute schedule instead: one
# collector (`run-once`) per tick, every BENCH_STEADY_INTERVAL seconds (default 60, real time) for
# BENCH_ACCOUNT_SIZES accounts (default "100 1000"), three streams each, each account with its own
# token; the simulator appends BENCH_STEADY_RATE events per second to each stream (default 0.05,
# three a minute per stream, which every account reads) and answers every page BENCH_PAGE_DELAY_MS
# late (default 100) while enforcing the real per-token limits (600 a minute, 30,000 an hour); the
# bucket is a fresh fake-gcs-server behind testkit's storage proxy adding BENCH_STORAGE_DELAY_MS to
# every storage request (default 50). ACCOUNTS_IN_PARALLEL defaults to 64 in this mode. The first
# run (no state yet) is a warm-up; then BENCH_RUNS runs (default 3) report wall seconds, CPU
# seconds, peak RSS and API requests per account per run (from the simulator's GET
# /opsim/requests, by token) and the CPU seconds the storage emulator, the storage proxy and the
# simulator used during the run (where the bound is), each run checked to end ok.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mode=${BENCH_ACCOUNTS_MODE:-backlog}
runs=${BENCH_RUNS:-3}
token=bench-token

cargo build --release --locked -p collector -p opsim -p testkit --bin collector --bin opsim \
  --bin storage-proxy >&2
bin="${CARGO_TARGET_DIR:-$root/target}/release"
work=$(mktemp -d)
opsim_pid='' gcs_pid='' proxy_pid=''
# Only processes this script started and that still run.
cleanup() {
  for pid in $opsim_pid $gcs_pid $proxy_pid; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

if [ "$mode" = steady ]; then
read -r -a sizes <<<"${BENCH_ACCOUNT_SIZES:-100 1000}"
parallel=${ACCOUNTS_IN_PARALLEL:-64}
interval=${BENCH_STEADY_INTERVAL:-60}
rate=${BENCH_STEADY_RATE:-0.05}
page_delay=${BENCH_PAGE_DELAY_MS:-100}
storage_delay=${BENCH_STORAGE_DELAY_MS:-50}
fake_gcs=${TESTKIT_FAKE_GCS_SERVER:-$root/.tools/bin/fake-gcs-server}
if [ ! -x "$fake_gcs" ]; then fake_gcs=$(command -v fake-gcs-server || true); fi
if [ -z "$fake_gcs" ]; then echo "fake-gcs-server not found: run scripts/install-test-deps.sh" >&2; exit 1; fi

# cpu_seconds PID...: user+system CPU seconds each process has used so far, space-separated.
cpu_seconds() {
  python3 -c 'import os, sys
tick = os.sysconf("SC_CLK_TCK")
print(" ".join("%.2f" % (sum(map(int, open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[11:13])) / tick) for p in sys.argv[1:]))' "$@"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One size: a fresh simulator (a token per account), storage and proxy; a warm-up run, then $runs
# runs, one every $interval seconds; appends "wall user sys rss_kib events max_req median_req" lines
# to $work/steady-N.
steady() {
  local n=$1 i port storage api tokens=() envs=() names=()
  for ((i = 1; i <= n; i++)); do tokens+=(--token "bench-token-$i"); done
  "$bin/opsim" serve --port 0 --audit-events 0 --page-delay-ms "$page_delay" --rate-limit \
    --append-per-second "$rate" --append-streams auditevents,signinattempts,itemusages \
    "${tokens[@]}" >"$work/opsim.out" 2>"$work/opsim.err" &
  opsim_pid=$!
  api=$(wait_line "$work/opsim.out" "opsim listening on ")
  port=$(free_port)
  "$fake_gcs" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
    -external-url "http://127.0.0.1:$port" -log-level error >"$work/gcs.log" 2>&1 &
  gcs_pid=$!
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/storage/v1/b?project=bench" >/dev/null && break; sleep 0.05; done
  curl -fs -X POST "http://127.0.0.1:$port/storage/v1/b?project=bench" -d '{"name":"bench-bucket"}' >/dev/null
  "$bin/storage-proxy" --upstream "http://127.0.0.1:$port" --delay-ms "$storage_delay" >"$work/proxy.out" 2>&1 &
  proxy_pid=$!
  storage=$(wait_line "$work/proxy.out" "storage-proxy listening on ")
  envs=(ACCOUNTS_IN_PARALLEL="$parallel" GCS_BUCKET=bench-bucket STORAGE_EMULATOR_HOST="$storage"
    LOG_FORMAT=json RUN_BUDGET_SECONDS=3600 LOOKBACK_HOURS=1)
  for ((i = 1; i <= n; i++)); do
    names+=("account-$i")
    envs+=("OP_API_BASE_ACCOUNT_$i=$api" "OP_BEARER_TOKEN_ACCOUNT_$i=bench-token-$i"
      "STREAMS_ACCOUNT_$i=auditevents,signinattempts,itemusages")
  done
  envs+=("ACCOUNTS=$(IFS=,; echo "${names[*]}")")
  : >"$work/steady-$n"
  local run next=$SECONDS
  for ((run = 0; run <= runs; run++)); do
    while [ "$SECONDS" -lt "$next" ]; do sleep 0.2; done
    next=$((SECONDS + interval))
    echo "[bench] $n accounts: run $run of $runs (run 0: warm-up)" >&2
    curl -fs "$api/opsim/requests" >"$work/before.json"
    cpu_seconds "$gcs_pid" "$proxy_pid" "$opsim_pid" >"$work/cpu-before"
    env -i PATH="$PATH" "${envs[@]}" /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
      "$bin/collector" run-once >"$work/log" 2>&1 || {
      echo "the run of $n accounts failed:" >&2; tail -20 "$work/log" >&2; exit 1; }
    curl -fs "$api/opsim/requests" >"$work/after.json"
    cpu_seconds "$gcs_pid" "$proxy_pid" "$opsim_pid" >"$work/cpu-after"
    local line
    line=$(python3 - "$work" "$n" <<'PY'
import json, statistics, sys
work, n = sys.argv[1], int(sys.argv[2])
summary = None
for l in open(f"{work}/log"):
    try: j = json.loads(l)
    except ValueError: continue
    if j.get("message") == "collector run summary": summary = j
if summary is None or summary.get("ok") is not True:
    sys.exit(f"the run of {n} accounts did not end ok: {summary}")
before = {t["fingerprint"]: t["total"] for t in json.load(open(f"{work}/before.json"))["tokens"]}
after = {t["fingerprint"]: t["total"] for t in json.load(open(f"{work}/after.json"))["tokens"]}
per = [after[f] - before.get(f, 0) for f in after]
if len(per) != n or min(per) == 0:
    sys.exit(f"expected requests from {n} tokens, got {len(per)} (min {min(per, default=0)})")
cpu = [a - b for a, b in zip(map(float, open(f"{work}/cpu-after").read().split()),
                              map(float, open(f"{work}/cpu-before").read().split()))]
print(summary["events"], max(per), statistics.median(per), *cpu)
PY
)
    if [ "$run" -gt 0 ]; then echo "$(cat "$work/time") $line" >>"$work/steady-$n"; fi
  done
  for pid in $opsim_pid $gcs_pid $proxy_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  opsim_pid='' gcs_pid='' proxy_pid=''
}

for n in "${sizes[@]}"; do steady "$n"; done

python3 - "$work" "$parallel" "$interval" "$rate" "$page_delay" "$storage_delay" "${sizes[@]}" <<'PY'
import statistics, sys
work, parallel, interval, rate, pdelay, sdelay, sizes = *sys.argv[1:7], sys.argv[7:]
def stats(values, fmt="%.2f"):
    return " / ".join(fmt % v for v in (min(values), statistics.median(values), max(values)))
print(f"steady state: a run every {interval} s, {rate} new events/s per stream, {pdelay} ms per API "
      f"page, {sdelay} ms per storage request, {parallel} accounts at once (min / median / max)")
for n in sizes:
    rows = [list(map(float, l.split())) for l in open(f"{work}/steady-{n}")]
    wall = [r[0] for r in rows]
    cpu = [r[1] + r[2] for r in rows]
    mib = [r[3] / 1024 for r in rows]
    events = [r[4] for r in rows]
    most = [r[5] for r in rows]
    median = [r[6] for r in rows]
    print(f"{n:>5} accounts x 3 streams: run wall s {stats(wall)}; CPU s {stats(cpu)}; "
          f"peak RSS MiB {stats(mib, '%.1f')}; events per run {stats(events, '%.0f')}; "
          f"API requests per account per run: median {stats(median, '%.0f')}, most {stats(most, '%.0f')}")
    per_hour = max(most) * 3600 / float(interval)
    print(f"      CPU s during the run (median): storage emulator {statistics.median(r[7] for r in rows):.2f}, "
          f"storage proxy {statistics.median(r[8] for r in rows):.2f}, simulator {statistics.median(r[9] for r in rows):.2f}, "
          f"collector {statistics.median(cpu):.2f} (2 cores shared)")
    print(f"      most requests of one account: {max(most):.0f} per run, so {max(most):.0f} a minute "
          f"(limit 600) and {per_hour:.0f} an hour at this schedule (limit 30,000)")
PY
  exit 0
elif [ "$mode" != backlog ]; then
  echo "BENCH_ACCOUNTS_MODE must be backlog (the default) or steady, got $mode" >&2
  exit 2
fi
read -r -a sizes <<<"${BENCH_ACCOUNT_SIZES:-4 20 60}"
events=${BENCH_ACCOUNT_EVENTS:-20000}
parallel=${ACCOUNTS_IN_PARALLEL:-4}

OPSIM_TOKEN=$token "$bin/opsim" serve --port 0 --audit-events "$events" --signin-attempts "$events" \
  --item-usages "$events" --history-minutes 60 >"$work/opsim.out" 2>"$work/opsim.err" &
opsim_pid=$!
api=$(wait_line "$work/opsim.out" "opsim listening on ")

# run ACCOUNTS RUN: one collector run of ACCOUNTS accounts; appends "wall user sys rss_kib events".
run() {
  local n=$1 out="$work/out-$1-$2" names=() i suffix
  mkdir -p "$out"
  local envs=(ACCOUNTS_IN_PARALLEL="$parallel" SINK_URL="file://$out" LOG_FORMAT=json
    MAX_RECORDS=100000000 RUN_BUDGET_SECONDS=3600 LOOKBACK_HOURS=2)
  for ((i = 1; i <= n; i++)); do
    names+=("account-$i")
    suffix="ACCOUNT_$i"
    envs+=("OP_API_BASE_$suffix=$api" "OP_BEARER_TOKEN_$suffix=$token"
      "STREAMS_$suffix=auditevents,signinattempts,itemusages")
  done
  envs+=("ACCOUNTS=$(IFS=,; echo "${names[*]}")")
  env -i PATH="$PATH" "${envs[@]}" /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
    "$bin/collector" run-once >"$work/log" 2>&1
  local committed
  committed=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: j=json.loads(l)
    except ValueError: continue
    if j.get("message")=="collector run summary": print(j["events"]); break' "$work/log")
  local expected=$((n * 3 * events))
  if [ "$committed" != "$expected" ]; then
    echo "the run of $n accounts committed $committed events, not $expected" >&2
    exit 1
  fi
  echo "$(cat "$work/time") $committed" >>"$work/results-$n"
  rm -rf "$out"
}

for n in "${sizes[@]}"; do
  run "$n" warmup >/dev/null
  : >"$work/results-$n"
  for ((r = 1; r <= runs; r++)); do run "$n" "$r"; done
done

python3 - "$work" "$parallel" "${sizes[@]}" <<'PY'
import statistics, sys
work, parallel, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
def stats(values):
    return "%.2f / %.2f / %.2f" % (min(values), statistics.median(values), max(values))
medians = {}
print(f"accounts at once: {parallel}; each run drains every account's three streams")
for n in sizes:
    rows = [list(map(float, l.split())) for l in open(f"{work}/results-{n}")]
    millions = [r[4] / 1e6 for r in rows]
    wall = [r[0] for r in rows]
    per_million = [r[0] / m for r, m in zip(rows, millions)]
    cpu = [(r[1] + r[2]) / m for r, m in zip(rows, millions)]
    mib = [r[3] / 1024 for r in rows]
    medians[n] = (statistics.median(per_million), statistics.median(mib))
    print(f"{n:>3} accounts, {int(rows[0][4]):>9} events: wall s {stats(wall)}; "
          f"wall s per million {stats(per_million)}; CPU s per million {stats(cpu)}; "
          f"peak RSS MiB {stats(mib)}")
floor = sizes[0]
for n in sizes[1:]:
    print(f"{n} accounts over {floor} (medians): wall per million events "
          f"{medians[n][0] / medians[floor][0]:.2f}x, peak RSS {medians[n][1] / medians[floor][1]:.2f}x")
PY
