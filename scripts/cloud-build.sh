#!/usr/bin/env bash
# Builds the collector image with Cloud Build and waits for the build to end, without streaming its
# log: a least-privileged deployer may read the staging bucket but not Cloud Build's default logs
# bucket (that takes project Viewer), so the build is submitted with --async and its status polled.
# The log stays in the Cloud Console (its URL is printed when the build fails).
#
# The build runs as BUILD_SERVICE_ACCOUNT (the module's build account, an email), not as the
# project's default Cloud Build account; a build with a user-specified account cannot write its log
# to Cloud Build's default logs bucket, so the log goes to the staging bucket (logs/) as well as to
# Cloud Logging.
#
#   scripts/cloud-build.sh PROJECT STAGING_BUCKET IMAGE BUILD_SERVICE_ACCOUNT [SOURCE]
#
# Environment: CLOUD_BUILD_TIMEOUT_SECONDS (default 2400), CLOUD_BUILD_POLL_SECONDS (default 15).
set -euo pipefail

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
  echo "usage: $0 PROJECT STAGING_BUCKET IMAGE BUILD_SERVICE_ACCOUNT [SOURCE]" >&2
  exit 64
fi
project=$1
staging=$2
image=$3
builder=$4
source=${5:-.}
case "$builder" in
  *@*.iam.gserviceaccount.com) ;;
  *)
    echo "error: BUILD_SERVICE_ACCOUNT must be the build account's email (the github_build_service_account output), not '$builder'" >&2
    exit 64
    ;;
esac
timeout=${CLOUD_BUILD_TIMEOUT_SECONDS:-2400}
poll=${CLOUD_BUILD_POLL_SECONDS:-15}

build=$(gcloud builds submit --project "$project" --async --gcs-source-staging-dir "gs://$staging/source" \
  --service-account "projects/$project/serviceAccounts/$builder" --gcs-log-dir "gs://$staging/logs" \
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
