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

# make_suite DIR N: a git repository of N trivial pytest tests, 100 to a
# file (bench/overhead and its timeline and CPU views measure gate on it).
make_suite() {
  mkdir -p "$1/tests"
  /usr/bin/python3 - "$1/tests" "$2" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for f in range(0, n, 100):
    with open("%s/test_%06d.py" % (d, f), "w") as out:
        out.write("".join("def test_%d():\n    assert %d >= 0\n" % (i, i) for i in range(f, min(n, f + 100))))
PY
  local git=(git -c user.name=bench -c user.email=bench@gate.invalid -C "$1")
  "${git[@]}" init -q && "${git[@]}" add -A && "${git[@]}" commit -q -m suite
}
