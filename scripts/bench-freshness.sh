#!/usr/bin/env bash
# Freshness benchmark: event creation to object in the bucket, end to end on the local cloud
# (the Events API simulator appending events at a steady rate, each timestamped at its creation;
# Cloud Scheduler's part publishing `{}` to the Pub/Sub emulator on the schedule, aligned to the
# clock; the push subscription delivering each tick to the release `collector serve`; then every
# object read and each event's latency taken as the object's timeCreated minus its timestamp).
# Prints p50 / p95 / max, events appended, found, lost and duplicated, per schedule:
#   minute  ticks every 60 s in real time, BENCH_FRESHNESS_TICKS ticks (default 31: 30 minutes);
#   hourly  the hourly default, compressed: ticks every 60 s of real time stand for an hour each,
#           events are appended 60 times faster (so each run carries an hour's events), and only
#           the wait is scaled: latency = 60 x (tick - event) + (object - tick), the run measured
#           as it happened. BENCH_FRESHNESS_TICKS ticks (default 31: 30 hours of schedule).
# BENCH_FRESHNESS_SCHEDULES (default "minute hourly") picks them; they run side by side, each with
# its own local cloud. BENCH_FRESHNESS_RATE: new events per second of schedule per stream (default
# 0.05, three a minute on each of the three streams); BENCH_PAGE_DELAY_MS per API page (default
# 100). Each schedule's report is also written as JSON to BENCH_FRESHNESS_OUT (default: a
# temporary folder, printed).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
read -r -a schedules <<<"${BENCH_FRESHNESS_SCHEDULES:-minute hourly}"
ticks=${BENCH_FRESHNESS_TICKS:-31}
rate=${BENCH_FRESHNESS_RATE:-0.05}
page_delay=${BENCH_PAGE_DELAY_MS:-100}
out=${BENCH_FRESHNESS_OUT:-$(mktemp -d)}
mkdir -p "$out"
export PATH="$root/.tools/bin:$PATH"

if [ "${BENCH_PROFILE:-release}" = dev ]; then
  cargo build --locked -p collector -p testkit --bin collector --bin freshness >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/debug"
else
  cargo build --release --locked -p collector -p testkit --bin collector --bin freshness >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/release"
fi

pids=()
# Only the drivers this script started and that still run.
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

for schedule in "${schedules[@]}"; do
  case $schedule in
    minute) compression=1 ;;
    hourly) compression=60 ;;
    *) echo "unknown schedule $schedule: expected minute or hourly" >&2; exit 2 ;;
  esac
  "$bin/freshness" --collector "$bin/collector" --interval-seconds 60 --compression "$compression" \
    --ticks "$ticks" --rate "$rate" --page-delay-ms "$page_delay" --json "$out/$schedule.json" \
    >"$out/$schedule.txt" 2>"$out/$schedule.err" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
pids=()
for schedule in "${schedules[@]}"; do
  echo "== $schedule"
  cat "$out/$schedule.txt"
  if [ -s "$out/$schedule.err" ]; then cat "$out/$schedule.err" >&2; fi
done
echo "reports: $out"
exit "$status"
