#!/usr/bin/env bash
# Measures what one collector run costs, in the units Google bills, on the local cloud, and writes
# them to provisioner/data/run-units.json (MEASURE_OUT moves it), which `provision cost` reads.
#
# The real `collector serve` runs against the Events API simulator (opsim) and fake-gcs-server
# behind testkit's storage-proxy, which records every storage request (--request-log). Each run is a
# Pub/Sub push envelope POSTed to the service, as the push subscription delivers a tick. Measured:
#   startup_ms        process start to the first answer of /healthz (billed with the first request
#                     of an instance; the estimate counts it on every run);
#   request_ms        the push request's duration (Cloud Run bills it rounded up to 100 ms);
#   class_a / class_b Cloud Storage operations by the proxy's record: object inserts (POST upload),
#                     PUT/PATCH and object listings are class A; object and metadata reads (GET of an
#                     object) are class B; DELETE is free;
#   objects_written   object inserts under the feed prefix (one bucket notification each with an
#                     event-driven feed); bytes_written what they add to the bucket (its listing);
#   log_bytes         the collector's stdout/stderr bytes during the run (its JSON lines).
# Runs: "typical" (the first run: MEASURE_EVENTS audit events, default 100, one API page) and
# "empty" (nothing new), the latter MEASURE_RUNS times (default 5; the largest is kept).
# MEASURE_PROFILE=dev measures the unoptimized binaries (the default, release, builds optimized ones).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
events=${MEASURE_EVENTS:-100}
empty_runs=${MEASURE_RUNS:-5}
profile=${MEASURE_PROFILE:-release}
out=${MEASURE_OUT:-$root/provisioner/data/run-units.json}
token=measure-token
bucket=measure-bucket
prefix=onepassword-audit

fake_gcs=${TESTKIT_FAKE_GCS_SERVER:-$root/.tools/bin/fake-gcs-server}
if [ ! -x "$fake_gcs" ]; then fake_gcs=$(command -v fake-gcs-server || true); fi
if [ -z "$fake_gcs" ]; then
  echo "fake-gcs-server is needed: run scripts/install-test-deps.sh" >&2
  exit 1
fi
if [ "$profile" = dev ]; then
  cargo build --locked -p collector -p opsim -p testkit --bins >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/debug"
else
  cargo build --release --locked -p collector -p opsim -p testkit --bins >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/release"
fi

work=$(mktemp -d)
opsim_pid='' gcs_pid='' proxy_pid='' collector_pid=''
cleanup() {
  for pid in $collector_pid $opsim_pid $proxy_pid $gcs_pid; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${MEASURE_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
bytes_of() { wc -c <"$1" | tr -d ' '; }

# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

OPSIM_TOKEN=$token "$bin/opsim" serve --port 0 --audit-events "$events" --history-minutes 30 \
  >"$work/opsim.out" 2>"$work/opsim.err" &
opsim_pid=$!
api=$(wait_line "$work/opsim.out" "opsim listening on ")

gcs_port=$(free_port)
"$fake_gcs" -scheme http -host 127.0.0.1 -port "$gcs_port" -backend memory \
  -external-url "http://127.0.0.1:$gcs_port" -log-level error >"$work/gcs.log" 2>&1 &
gcs_pid=$!
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$gcs_port/storage/v1/b?project=measure" >/dev/null && break; sleep 0.05; done
curl -fs -X POST "http://127.0.0.1:$gcs_port/storage/v1/b?project=measure" -d "{\"name\":\"$bucket\"}" >/dev/null
: >"$work/requests.log"
"$bin/storage-proxy" --upstream "http://127.0.0.1:$gcs_port" --request-log "$work/requests.log" \
  >"$work/proxy.out" 2>&1 &
proxy_pid=$!
storage=$(wait_line "$work/proxy.out" "storage-proxy listening on ")

port=$(free_port)
: >"$work/collector.log"
started=$(now_ms)
env OP_BEARER_TOKEN="$token" OP_API_BASE="$api" GCS_BUCKET="$bucket" STORAGE_EMULATOR_HOST="$storage" \
  LOG_FORMAT=json LISTEN_ADDRESS=127.0.0.1 PORT="$port" \
  "$bin/collector" serve >>"$work/collector.log" 2>&1 &
collector_pid=$!
ready=''
for _ in $(seq 2000); do
  if curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ready=$(now_ms); break; fi
  sleep 0.005
done
if [ -z "$ready" ]; then echo "the collector never answered /healthz:" >&2; cat "$work/collector.log" >&2; exit 1; fi
startup_ms=$((ready - started))
startup_log_bytes=$(bytes_of "$work/collector.log")
startup_requests=$(wc -l <"$work/requests.log" | tr -d ' ')

# run NAME N: one push; appends a JSON object of the run's units to $work/runs.jsonl.
run() {
  local name=$1 n=$2 log_before requests_before seconds status
  log_before=$(bytes_of "$work/collector.log")
  requests_before=$(wc -l <"$work/requests.log" | tr -d ' ')
  local envelope
  envelope=$(printf '{"message":{"data":"e30=","attributes":{},"messageId":"measure-%s-%s","publishTime":"2026-12-05T00:00:00Z"},"subscription":"projects/measure/subscriptions/trigger"}' "$name" "$n")
  read -r status seconds < <(curl -s -o "$work/answer.json" -w '%{http_code} %{time_total}\n' \
    -X POST -H 'Content-Type: application/json' --data "$envelope" "http://127.0.0.1:$port/")
  if [ "$status" != 200 ]; then echo "run $name answered $status:" >&2; cat "$work/answer.json" "$work/collector.log" >&2; exit 1; fi
  sleep 0.2 # lines the run logged after answering reach the file
  tail -c +"$((log_before + 1))" "$work/collector.log" >"$work/run.log"
  tail -n +"$((requests_before + 1))" "$work/requests.log" >"$work/run.requests"
  cp "$work/run.requests" "$work/$name-$n.requests"
  # What the bucket holds under the feed prefix so far, read from the emulator itself (not counted).
  curl -fs "http://127.0.0.1:$gcs_port/storage/v1/b/$bucket/o?prefix=$prefix/" >"$work/stored.json"
  python3 - "$name" "$seconds" "$prefix" "$work/run.log" "$work/run.requests" "$work/answer.json" "$work/stored.json" >>"$work/runs.jsonl" <<'PY'
import json, re, sys
name, seconds, prefix, log, requests, answer, stored = sys.argv[1:]
a = b = free = written = written_bytes = 0
for line in open(requests):
    method, target, size = line.split()
    path = target.split("?")[0]
    is_object = re.search(r"/b/[^/]+/o/.+", path) is not None
    if method == "DELETE":
        free += 1
    elif method in ("POST", "PUT", "PATCH"):
        a += 1
        if "/upload/" in path and f"name={prefix}/" in target.replace("%2F", "/"):
            written += 1
    elif method == "GET" and not is_object and re.search(r"/b/[^/]+/o$", path):
        a += 1  # an object listing
    else:
        b += 1
summary = json.load(open(answer))
stored_bytes = sum(int(o.get("size", 0)) for o in json.load(open(stored)).get("items", []))
events = sum(s.get("events", 0) for s in summary.get("streams", []))
print(json.dumps({
    "run": name, "request_ms": round(float(seconds) * 1000, 1), "class_a": a, "class_b": b,
    "free_operations": free, "objects_written": written, "bytes_stored": stored_bytes,
    "log_bytes": len(open(log, "rb").read()), "events": events,
}))
PY
}

run typical 1
for n in $(seq "$empty_runs"); do run empty "$n"; done

mkdir -p "$(dirname "$out")"
python3 - "$work/runs.jsonl" "$out" "$startup_ms" "$startup_log_bytes" "$startup_requests" "$profile" "$events" "$empty_runs" <<'PY'
import datetime, json, math, sys
runs_file, out, startup_ms, startup_log, startup_requests, profile, events, empty_runs = sys.argv[1:]
runs = [json.loads(l) for l in open(runs_file)]
typical = next(r for r in runs if r["run"] == "typical")
empties = [r for r in runs if r["run"] == "empty"]
if typical["events"] != int(events):
    sys.exit(f"the typical run collected {typical['events']} events, expected {events}")
if any(r["events"] for r in empties):
    sys.exit(f"an empty run collected events: {empties}")
def units(r):
    return {
        "request_ms": r["request_ms"],
        "billed_request_ms": math.ceil(r["request_ms"] / 100) * 100,
        "class_a": r["class_a"], "class_b": r["class_b"],
        "objects_written": r["objects_written"],
        "log_bytes": r["log_bytes"], "events": r["events"],
        "bytes_written": r.get("bytes_written", 0),
    }
# Bytes the typical run added to the bucket (the empty runs add none).
typical["bytes_written"] = typical["bytes_stored"]
# The empty run kept is the one with the longest request (every count is the same in each).
empty = max(empties, key=lambda r: r["request_ms"])
doc = {
    "measured": datetime.date.today().isoformat(),
    "command": f"MEASURE_PROFILE={profile} MEASURE_EVENTS={events} MEASURE_RUNS={empty_runs} scripts/measure-run-cost.sh",
    "profile": profile,
    "scope": "one account, one stream (auditevents), one run; the estimate scales the per-run "
             "units by accounts x streams",
    "instance_start": {
        "startup_ms": int(startup_ms),
        "log_bytes": int(startup_log),
        "storage_requests": int(startup_requests),
        "secret_accesses_per_token": 1,
        "secret_accesses_note": "Cloud Run reads each secret_key_ref once when an instance starts; "
            "the collector reads OP_BEARER_TOKEN from its environment and never calls Secret Manager",
    },
    "pubsub_requests_per_tick": 2,
    "pubsub_note": "the scheduler's publish and the push delivery, each billed at least 1000 bytes",
    "empty": units(empty),
    "typical": units(typical),
    "empty_runs_measured": [r["request_ms"] for r in empties],
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
print(json.dumps(doc, indent=2))
PY
echo "wrote $out" >&2
