#!/usr/bin/env bash
# The whole pipeline on this machine, no cloud account: the 1Password Events API simulator, the
# collector writing to a local folder with the bucket's layout, Pub/Sub-shaped triggers, then the
# objects and checkpoints that landed and the SecOps feed settings for them.
#
#   scripts/demo.sh            output in ./demo-out (removed and recreated)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out="$root/demo-out"
token=demo-token-not-a-secret
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); else bold=; plain=; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }

step "building the collector, the simulator and provision (release)"
cargo build --release --locked -p collector -p opsim -p provisioner 2>&1 | tail -n 1
bin="${CARGO_TARGET_DIR:-$root/target}/release"

rm -rf "$out"
mkdir -p "$out/bucket"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "starting the 1Password Events API simulator (5,000 audit events, 1,500 sign-ins, 800 item usages; 20 new audit events a second)"
OPSIM_TOKEN=$token "$bin/opsim" serve --port 0 --audit-events 5000 --signin-attempts 1500 --item-usages 800 \
  --append-per-second 20 >"$out/opsim.out" 2>"$out/opsim.log" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$out/opsim.out" 2>/dev/null && break; sleep 0.1; done
api=$(sed -n 's/^opsim listening on //p' "$out/opsim.out")
echo "Events API at $api"

step "starting the collector service (sink: file://$out/bucket)"
port=$(free_port)
LISTEN_ADDRESS=127.0.0.1 PORT=$port OP_API_BASE="$api" OP_BEARER_TOKEN=$token SINK_URL="file://$out/bucket" \
  STREAMS=auditevents,signinattempts,itemusages MAX_RECORDS=1000000 LOG_FORMAT=json \
  "$bin/collector" serve >"$out/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
echo "collector listening on 127.0.0.1:$port"

for run in 1 2 3; do
  step "trigger $run of 3: a Pub/Sub push, as Cloud Scheduler -> Pub/Sub would send it"
  body=$(printf '{"message":{"data":"e30=","messageId":"demo-%s","publishTime":"%s"},"subscription":"projects/demo/subscriptions/onepassword-audit-trigger-push"}' \
    "$run" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
  result=$(curl -fsS -X POST -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$port/")
  python3 - "$result" <<'PY'
import json, sys
summary = json.loads(sys.argv[1])
for s in summary["streams"]:
    print(f'  {s["stream"]:<15} {s["events"]:>6} events  {s["objects"]:>3} objects  {s["bytes"]:>9} bytes  outcome: {s["outcome"]["kind"]}')
print(f'  run took {summary["duration_ms"]} ms')
PY
  sleep 2
done

step "objects that landed (the layout a SecOps GCS V2 feed reads)"
(cd "$out/bucket" && find . -type f -name '*.ndjson' | sort | sed 's|^\./||' | head -n 12)
echo "  … $(find "$out/bucket" -name '*.ndjson' | wc -l) objects, $(cat "$out"/bucket/onepassword-*/*/*/*/*.ndjson | wc -l) events in all"
first=$(find "$out/bucket/onepassword-audit" -name '*.ndjson' | sort | head -n 1)
echo "first audit event, byte-for-byte as the API sent it:"
head -n 1 "$first" | cut -c 1-300
echo "…"

step "the audit events checkpoint (outside every feed prefix)"
cat "$out/bucket/onepassword-secops-state/auditevents.json"

step "SecOps feed settings for this output"
cat >"$out/onepassword-secops.yaml" <<YAML
project_id: demo-project-123
region: us-central1
streams: [auditevents, signinattempts, itemusages]
YAML
"$bin/provision" feed-instructions --config "$out/onepassword-secops.yaml"

step "done: logs in $out/collector.log (Cloud Logging JSON), objects in $out/bucket"
