#!/usr/bin/env bash
# Builds the collector image with Cloud Build and waits for the build to end, without streaming its
# log: a least-privileged deployer may read the staging bucket but not Cloud Build's default logs
# bucket (that takes project Viewer), so the build is submitted with --async and its status polled.
# The log stays in the Cloud Console (its URL is printed when the build fails).
#
#   scripts/cloud-build.sh PROJECT STAGING_BUCKET IMAGE [SOURCE]
#
# Environment: CLOUD_BUILD_TIMEOUT_SECONDS (default 2400), CLOUD_BUILD_POLL_SECONDS (default 15).
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 PROJECT STAGING_BUCKET IMAGE [SOURCE]" >&2
  exit 64
fi
project=$1
staging=$2
image=$3
source=${4:-.}
timeout=${CLOUD_BUILD_TIMEOUT_SECONDS:-2400}
poll=${CLOUD_BUILD_POLL_SECONDS:-15}

build=$(gcloud builds submit --project "$project" --async --gcs-source-staging-dir "gs://$staging/source" \
  --tag "$image" --format 'value(id)' "$source")
echo "Cloud Build $build: building $image"

deadline=$((SECONDS + timeout))
while :; do
  status=$(gcloud builds describe "$build" --project "$project" --format 'value(status)')
  case "$status" in
    SUCCESS)
      echo "Cloud Build $build: SUCCESS"
      exit 0
      ;;
    QUEUED | PENDING | WORKING | STATUS_UNKNOWN) ;;
    *)
      url=$(gcloud builds describe "$build" --project "$project" --format 'value(logUrl)')
      echo "error: Cloud Build $build ended $status; its log: $url" >&2
      exit 1
      ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "error: Cloud Build $build is still $status after $timeout s; it keeps running, see: gcloud builds describe $build --project $project" >&2
    exit 1
  fi
  sleep "$poll"
done
