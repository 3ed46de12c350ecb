# Sourced by the bench scripts: the gate binary, a work directory removed on
# exit (with whatever the script registers to stop first), and the median.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; bench_setup NAME
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gate=${GATE_BIN:-$root/build/gate}

# Commands run on exit before the work directory goes (a daemon to stop...).
bench_on_exit=()
bench_cleanup() {
  local command
  for command in "${bench_on_exit[@]}"; do eval "$command" || true; done
  [ -n "${work:-}" ] && rm -rf "$work"
}

# Makes $work (/tmp/gate-bench-NAME.XXXXXX) and removes it on exit.
bench_setup() {  # name
  work=$(mktemp -d "/tmp/gate-bench-$1.XXXXXX")
  trap bench_cleanup EXIT
}

# The median of the numbers given as arguments, or on stdin when none are
# given (the mean of the middle two of an even count).
median() {
  if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi |
    sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}
