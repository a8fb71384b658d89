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
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
read -r -a sizes <<<"${BENCH_ACCOUNT_SIZES:-4 20 60}"
events=${BENCH_ACCOUNT_EVENTS:-20000}
parallel=${ACCOUNTS_IN_PARALLEL:-4}
runs=${BENCH_RUNS:-3}
token=bench-token

cargo build --release --locked -p collector -p opsim --bins >&2
bin="${CARGO_TARGET_DIR:-$root/target}/release"
work=$(mktemp -d)
opsim_pid=''
cleanup() {
  if [ -n "$opsim_pid" ]; then kill "$opsim_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

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
