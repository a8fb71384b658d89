#!/usr/bin/env bash
# Checks that a released image can be pulled without credentials, as every deployment's Artifact
# Registry remote repository pulls it from GitHub Container Registry. A package that is still
# private (GitHub's default for a new package in an organisation) would make every default
# `provision apply` stop, so the release fails here instead, naming the fix.
#
#   scripts/check-anonymous-pull.sh IMAGE DIGEST     e.g. ghcr.io/acme/onepassword-secops/collector sha256:…
#
# Anonymous, as a registry client: an anonymous pull token from the registry's token endpoint, then a
# HEAD of the manifest by digest. Environment: REGISTRY_URL (default https://REGISTRY, for tests),
# ANONYMOUS_PULL_TRIES (default 3) and ANONYMOUS_PULL_PAUSE_SECONDS (default 10) between tries.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 IMAGE DIGEST" >&2
  exit 64
fi
image=$1
digest=$2
registry=${image%%/*}
repository=${image#*/}
base=${REGISTRY_URL:-https://$registry}
tries=${ANONYMOUS_PULL_TRIES:-3}
pause=${ANONYMOUS_PULL_PAUSE_SECONDS:-10}
accept='application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json'

status=none
for try in $(seq 1 "$tries"); do
  # No credentials anywhere: an empty netrc and no Authorization but the anonymous token.
  token=$(curl --silent --show-error --netrc-file /dev/null \
    "$base/token?scope=repository:$repository:pull&service=$registry" |
    sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p') || token=
  if [ -n "$token" ]; then
    status=$(curl --silent --show-error --netrc-file /dev/null --head --output /dev/null \
      --write-out '%{http_code}' -H "Authorization: Bearer $token" -H "Accept: $accept" \
      "$base/v2/$repository/manifests/$digest") || status=unreachable
  else
    status="no anonymous token"
  fi
  if [ "$status" = 200 ]; then
    echo "anonymous pull of $image@$digest works"
    exit 0
  fi
  if [ "$try" -lt "$tries" ]; then sleep "$pause"; fi
done

package=${repository##*/}
echo "::error::$image@$digest cannot be pulled anonymously ($status): deployments pull it through an Artifact Registry remote repository without credentials, so every default 'provision apply' would stop. Make the package public: GitHub → the repository's Packages → $package → Package settings → Change visibility → Public; then re-run this job." >&2
exit 1
