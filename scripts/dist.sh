#!/usr/bin/env bash
# Builds the release archives of one target, as the release workflow does on each runner and CI
# does for the host: `provision` for every target, `collector` for Linux x86_64 only (the
# container's). Each binary becomes NAME-VERSION-TARGET.tar.gz (the binary and README.md), with a
# SHA-256 line per archive in SHA256SUMS-TARGET; the binaries are run once to check that they
# report this version and commit.
#
#   scripts/dist.sh [--target TRIPLE] [--out DIR]      (defaults: the host, target/dist)
#   scripts/dist.sh [--target TRIPLE] --build-only     only the release build; prints its folder
#   scripts/dist.sh [--target TRIPLE] --prebuilt DIR [--out DIR]
#                                                      archives the binaries in DIR, built by
#                                                      --build-only (scripts/test.sh builds them
#                                                      while the tests run), without building again
#
# Reproducible where GNU tar is available: sorted names, owner 0, the commit's time as mtime.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

target=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${CARGO_TARGET_DIR:-$root/target}
out="$target_dir/dist"
build=true
archive=true
prebuilt=
while [ $# -gt 0 ]; do
  case "$1" in
    --target)
      target=$2
      shift 2
      ;;
    --out)
      out=$2
      shift 2
      ;;
    --build-only)
      archive=false
      shift
      ;;
    --prebuilt)
      build=false
      prebuilt=$2
      shift 2
      ;;
    *)
      echo "usage: $0 [--target TRIPLE] [--out DIR] [--build-only | --prebuilt DIR]" >&2
      exit 64
      ;;
  esac
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || {
  echo "error: no [workspace.package] version in Cargo.toml" >&2
  exit 1
}
# The binaries' --version names this commit (build.rs reads SOURCE_COMMIT).
SOURCE_COMMIT=${SOURCE_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
export SOURCE_COMMIT
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

binaries=(provision)
packages=(-p provisioner --bin provision)
if [ "$target" = x86_64-unknown-linux-gnu ]; then
  binaries+=(collector)
  packages+=(-p collector --bin collector)
fi

built_dir="$target_dir/$target/release"
if [ "$build" = true ]; then
  echo "building ${binaries[*]} $version ($SOURCE_COMMIT) for $target" >&2
  cargo build --release --locked --target "$target" "${packages[@]}"
  if [ "$archive" = false ]; then
    echo "$built_dir"
    exit 0
  fi
else
  built_dir=$prebuilt
  echo "archiving ${binaries[*]} $version ($SOURCE_COMMIT) for $target, built in $built_dir" >&2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$@"; }
else
  sha256() { shasum -a 256 "$@"; }
fi
gnu_tar=false
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  gnu_tar=true
fi

host=$(rustc -vV | sed -n 's/^host: //p')
archives=()
for binary in "${binaries[@]}"; do
  built="$built_dir/$binary"
  [ -x "$built" ] || {
    echo "error: $built is missing: build it first with scripts/dist.sh --build-only" >&2
    exit 1
  }
  if [ "$target" = "$host" ]; then
    reported=$("$built" --version)
    case "$reported" in
      *"$version"*"$SOURCE_COMMIT"*) ;;
      *)
        echo "error: $built --version says '$reported', not $version ($SOURCE_COMMIT)" >&2
        exit 1
        ;;
    esac
  fi
  name="$binary-$version-$target"
  stage=$(mktemp -d)
  mkdir "$stage/$name"
  cp "$built" "$stage/$name/$binary"
  cp README.md "$stage/$name/README.md"
  if [ "$gnu_tar" = true ]; then
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
      -C "$stage" -czf "$out/$name.tar.gz" "$name"
  else
    tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
  fi
  rm -rf "$stage"
  archives+=("$name.tar.gz")
done

(cd "$out" && sha256 "${archives[@]}" >"SHA256SUMS-$target")
(cd "$out" && sha256 -c "SHA256SUMS-$target" >&2)
printf '%s\n' "${archives[@]/#/$out/}"
