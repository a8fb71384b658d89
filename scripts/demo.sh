#!/usr/bin/env bash
# The whole pipeline on this machine, no cloud account, on the local cloud the tests use: the
# 1Password Events API simulator, the collector service writing to fake-gcs-server, the real Pub/Sub
# emulator pushing Cloud Scheduler's `{}` to it; then the objects and checkpoint that landed, read
# with the real `gcloud storage`, and the operator's view: `provision status` and `provision verify`
# through testkit's gcloud shim (which simulates only Cloud Logging and Cloud Scheduler).
#
#   scripts/demo.sh               output in ./demo-out (removed and recreated); nothing keeps running
#   scripts/demo.sh --setup-only  only what the demo needs: checks and installs it, then stops
#
# Sets itself up: installs fake-gcs-server into .tools/ (with scripts/lib.sh's install functions,
# as scripts/install-test-deps.sh does; a second run reuses it) and curl with apt if it is missing.
# It cannot install gcloud with its Pub/Sub emulator, nor Java: when one is missing it stops at
# once, printing the apt lines that install it. Everything it writes is in demo-out/ and .tools/
# (gcloud's configuration included), besides cargo's target folder.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# DEMO_OUT and TOOLS_DIR move its output and tool folders (scripts/test.sh checks the set-up in
# empty ones).
out="${DEMO_OUT:-$root/demo-out}"
case "${1:-}" in
  "" | --setup-only) ;;
  *)
    echo "usage: $0 [--setup-only]" >&2
    exit 64
    ;;
esac
token=demo-token-not-a-secret
project=acme-secops-prod
region=us-central1
bucket=onepassword-audit-secops-logs
service=onepassword-audit-collector
job=onepassword-audit-collector-hourly
topic=onepassword-audit-trigger
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); else bold=; plain=; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }

tools_said=demo
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
rm -rf "$out"
mkdir -p "$out/bin" "$out/logs" "$out/gcloud-config" "$out/pubsub"
# gcloud keeps its configuration and logs here, not in the home folder.
export CLOUDSDK_CONFIG="$out/gcloud-config"

step "what the demo needs: gcloud with its Pub/Sub emulator, Java, curl, fake-gcs-server (in .tools/)"
require_pubsub_emulator
install_apt curl curl
install_py_tools fake-gcs-server
export PATH="$tools_bin:$PATH"
echo "gcloud $(gcloud version 2>/dev/null | sed -n 's/^Google Cloud SDK //p'), $(java -version 2>&1 | head -n 1), fake-gcs-server in $tools_bin"
if [ "${1:-}" = --setup-only ]; then exit 0; fi
real_gcloud=$(command -v gcloud)

step "building the collector, the simulator and provision (release)"
built_at=$SECONDS
cargo build --release --locked -p collector -p opsim -p provisioner 2>&1 | tail -n 1
echo "built in $((SECONDS - built_at)) s"
bin="${CARGO_TARGET_DIR:-$root/target}/release"

groups=()
cleanup() {
  for group in "${groups[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  sleep 1
  for group in "${groups[@]}"; do kill -KILL -- "-$group" 2>/dev/null || true; done
}
trap cleanup EXIT
# Each server runs in its own process group, so the cleanup also ends what it started (the JVM).
start() { local log=$1; shift; setsid "$@" >"$log" 2>&1 & groups+=($!); }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
  local what=$1 check=$2 log=${3:-}
  for _ in $(seq 600); do if "$check"; then return 0; fi; sleep 0.1; done
  echo "error: $what within 60 s${log:+; the end of $log:}" >&2
  if [ -n "$log" ]; then tail -n 20 "$log" >&2; fi
  exit 1
}
opsim_up() { grep -q listening "$out/opsim.out" 2>/dev/null; }
gcs_up() { curl -fs "$gcs/storage/v1/b?project=demo" >/dev/null 2>&1; }
pubsub_up() { grep -q "Server started" "$out/pubsub.log" 2>/dev/null; }
collector_up() { curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; }

step "starting the 1Password Events API simulator (5,000 audit events, 1,500 sign-ins, 800 item usages; 20 new audit events a second)"
OPSIM_TOKEN=$token start "$out/opsim.out" "$bin/opsim" serve --port 0 --audit-events 5000 --signin-attempts 1500 \
  --item-usages 800 --append-per-second 20
wait_for "the simulator did not start" opsim_up "$out/opsim.out"
api=$(sed -n 's/^opsim listening on //p' "$out/opsim.out")
echo "Events API at $api"

step "starting the local cloud: fake-gcs-server (bucket gs://$bucket) and the Pub/Sub emulator"
gcs_port=$(free_port)
start "$out/fake-gcs.log" fake-gcs-server -scheme http -host 127.0.0.1 -port "$gcs_port" -backend memory \
  -external-url "http://127.0.0.1:$gcs_port" -log-level warn
gcs="http://127.0.0.1:$gcs_port"
wait_for "fake-gcs-server did not start" gcs_up "$out/fake-gcs.log"
curl -fsS -X POST "$gcs/storage/v1/b?project=demo" -d "{\"name\":\"$bucket\"}" >/dev/null
pubsub_port=$(free_port)
CLOUDSDK_CONFIG="$out/pubsub" start "$out/pubsub.log" "$real_gcloud" beta emulators pubsub start \
  "--host-port=127.0.0.1:$pubsub_port" "--project=$project" "--data-dir=$out/pubsub"
wait_for "the Pub/Sub emulator did not start" pubsub_up "$out/pubsub.log"
echo "fake-gcs-server at $gcs, Pub/Sub emulator at 127.0.0.1:$pubsub_port"

step "starting the collector service (Cloud Run's part), writing to gs://$bucket on the emulator"
port=$(free_port)
LISTEN_ADDRESS=127.0.0.1 PORT=$port OP_API_BASE="$api" OP_BEARER_TOKEN=$token GCS_BUCKET=$bucket STORAGE_EMULATOR_HOST="$gcs" \
  STREAMS=auditevents,signinattempts,itemusages MAX_RECORDS=1000000 LOG_FORMAT=json \
  start "$out/logs/$service.stdout" "$bin/collector" serve
wait_for "the collector did not start" collector_up "$out/logs/$service.stdout"
echo "collector listening on 127.0.0.1:$port"

step "the trigger: topic $topic and push subscription $topic-push to the collector (Pub/Sub emulator REST API)"
ps_api="http://127.0.0.1:$pubsub_port/v1/projects/$project"
curl -fsS -X PUT "$ps_api/topics/$topic" >/dev/null
curl -fsS -X PUT "$ps_api/subscriptions/$topic-push" -H 'content-type: application/json' \
  -d "{\"topic\":\"projects/$project/topics/$topic\",\"pushConfig\":{\"pushEndpoint\":\"http://127.0.0.1:$port/\"},\"ackDeadlineSeconds\":600}" >/dev/null
echo "created projects/$project/subscriptions/$topic-push -> http://127.0.0.1:$port/"

read -r -d '' show_summary <<'PY' || true
import json, sys
line = json.loads(sys.stdin.read())
for s in line["summary"]["streams"]:
    print("  %-15s %6d events  %3d objects  %9d bytes  outcome: %s"
          % (s["stream"], s["events"], s["objects"], s["bytes"], s["outcome"]["kind"]))
print("  run took %d ms; ok: %s" % (line["summary"]["duration_ms"], str(line["ok"]).lower()))
PY
summaries() { grep -c '"message":"collector run summary"' "$out/logs/$service.stdout" || true; }
new_summary() { [ "$(summaries)" -gt "$before" ]; }
for run in 1 2 3; do
  step "trigger $run of 3: publish {} to $topic, as Cloud Scheduler does; the emulator pushes it"
  before=$(summaries)
  curl -fsS -X POST "$ps_api/topics/$topic:publish" -H 'content-type: application/json' \
    -d '{"messages":[{"data":"e30="}]}' >/dev/null
  wait_for "no run summary appeared after the push" new_summary "$out/logs/$service.stdout"
  grep '"message":"collector run summary"' "$out/logs/$service.stdout" | tail -n 1 | python3 -c "$show_summary"
  sleep 2
done

step "the gcloud shim: the real gcloud for storage, Cloud Logging and Cloud Scheduler simulated"
cp "$root/testkit/src/gcloud_shim.py" "$out/bin/gcloud"
chmod +x "$out/bin/gcloud"
echo "any-token" >"$out/access-token"
python3 - "$out" <<PY
import json, sys
out = sys.argv[1]
json.dump({
    "real_gcloud": "$real_gcloud", "project": "$project", "region": "$region",
    "storage_endpoint": "$gcs", "storage_config": out + "/gcloud-config", "token_file": out + "/access-token",
    "pubsub": "127.0.0.1:$pubsub_port", "jobs": {"$job": {"project": "$project", "topic": "$topic"}},
    "logs": {"$service": {"stdout": out + "/logs/$service.stdout"}}, "rules": [],
}, open(out + "/bin/local-cloud.json", "w"), indent=2)
PY
export PATH="$out/bin:$PATH"
echo "gcloud is now $(command -v gcloud)"

step "objects that landed (gcloud storage ls, the layout a SecOps GCS V2 feed reads)"
gcloud storage ls "gs://$bucket/**" --project "$project" >"$out/objects.txt"
grep '\.ndjson$' "$out/objects.txt" | head -n 12
echo "  … $(grep -c '\.ndjson$' "$out/objects.txt") data objects, and the checkpoints:"
grep -v '\.ndjson$' "$out/objects.txt"
first=$(gcloud storage ls "gs://$bucket/onepassword-audit/**" --project "$project" | head -n 1)
echo "first audit event, byte-for-byte as the API sent it:"
gcloud storage cat "$first" --project "$project" | head -n 1 | cut -c 1-300
echo "…"

step "the audit events checkpoint (outside every feed prefix)"
gcloud storage cat "gs://$bucket/onepassword-secops-state/auditevents.json" --project "$project"

cat >"$out/onepassword-secops.yaml" <<YAML
project_id: $project
region: $region
streams: [auditevents, signinattempts, itemusages]
YAML

step "provision status (the operator's view: checkpoints through gcloud storage, the last run from the logs)"
"$bin/provision" status --config "$out/onepassword-secops.yaml"

step "provision verify (forces a run through the scheduler job, waits for its summary, lists what it wrote)"
"$bin/provision" verify --config "$out/onepassword-secops.yaml" --timeout 60 --poll 1

step "SecOps feed settings for this output"
"$bin/provision" feed-instructions --config "$out/onepassword-secops.yaml"

step "done in $SECONDS s: collector logs in $out/logs (Cloud Logging JSON), every gcloud call in $out/bin/calls.jsonl; stopping the local cloud"
