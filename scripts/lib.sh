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
