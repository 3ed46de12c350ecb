# Secrets stay gate's: a hostile consumer that reads everything it can (its
# environment, every process's environ and command line, the checkout cache)
# finds neither the registry password nor a repository token, and no file
# under the report or cache directories, nor any output, holds them in clear,
# base64 or percent-encoded. A consumer given a secret by name in its `env`
# that prints it gets it redacted in its log too.
source "$(dirname "$0")/lib.sh"

password="pw+/$$-$(head -c 12 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
token="tok-$$-$(head -c 12 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
start_htpasswd_registry basic "$password"; registry=$address
digest=$(python3 "$tools/oci.py" push-index "$GATE_REGISTRY" "e2e/secrets-$$" src) || fail "push index"
copy_image "$GATE_REGISTRY/e2e/secrets-$$:src" "$registry/acme/emu:candidate" "gate-bot:$password" || fail "copy"

# The consumer: a probe that collects what a hostile test could read.
base="$scratch/git"; mkdir -p "$base"
make_repo "$scratch/app"
cat >"$scratch/app/probe.sh" <<'PROBE'
#!/bin/sh
out=$1
{
  echo "== env"; env
  for p in /proc/[0-9]*; do
    [ -r "$p/environ" ] || continue
    echo "== $p"
    tr '\0' '\n' <"$p/environ" 2>/dev/null
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null; echo
  done
  echo "== mirror configs"  # the worktree is <cache>/trees/<repo>/<slot>
  cat ../../../mirrors/*/config 2>/dev/null
  printf '%s\n' "${GIVEN:-}" | grep -v '^$' | while read -r given; do
    echo "given in clear: $given"
    echo "given in base64: $(printf 'gate-bot:%s' "$given" | base64 -w0) $(printf 'x%s' "$given" | base64 -w0) $(printf 'xy%s' "$given" | base64 -w0)"
    echo "given in a URL: $(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$given")"
  done
} >"$out" 2>&1
cat "$out"
echo "probe-done $(grep -c '^== /proc' "$out") processes"
PROBE
git_quiet -C "$scratch/app" add probe.sh && git_quiet -C "$scratch/app" commit -q -m probe
git clone -q --bare "$scratch/app" "$base/app.git"
start_git_http "$base" gate-ci "$token"; http=$address
cat >"$scratch/gate.yaml" <<YAML
version: 1
image: {repository: $registry/acme/emu, publish_tags: [latest]}
consumers:
  - name: url-token
    repo: ${http/http:\/\//http://gate-ci:$token@}/app.git
    ref: main
    run: "sh probe.sh $scratch/probe-url.txt"
  - name: env-token
    repo: $http/app.git
    ref: main
    token_env: GATE_TEST_GIT_TOKEN
    token_user: gate-ci
    run: "sh probe.sh $scratch/probe-env.txt"
YAML
GATE_REGISTRY_USER=gate-bot GATE_REGISTRY_PASSWORD="$password" GATE_TEST_GIT_TOKEN="$token" \
  "$GATE_BIN" test --config "$scratch/gate.yaml" --candidate "$registry/acme/emu@$digest" \
  --report-dir "$scratch/report" --cache-dir "$scratch/cache" >"$scratch/out" 2>"$scratch/err"
expect_eq "$?" 0 "the hostile probes ran ($(grep error "$scratch/err" | head -3))"
for probe in url env; do
  expect_file_contains "$scratch/probe-$probe.txt" "^== /proc/$$" "probe $probe read the test script's own environ (so it could read gate's)"
  expect_file_contains "$scratch/probe-$probe.txt" "bare = true" "probe $probe read the mirror's config"
done
GATE_REGISTRY_USER=gate-bot GATE_REGISTRY_PASSWORD="$password" \
  "$GATE_BIN" publish --config "$scratch/gate.yaml" --verdict "$scratch/report/verdict.json" >>"$scratch/out" 2>>"$scratch/err"
expect_eq "$?" 0 "publish to the htpasswd registry ($(grep error "$scratch/err" | head -3))"

# A consumer given the password by name, printing it in clear and encoded:
# the secret is its to see, but never written by gate.
cat >"$scratch/given.yaml" <<YAML
version: 1
image: {repository: $registry/acme/emu, publish_tags: [latest]}
consumers:
  - name: given
    repo: $http/app.git
    ref: main
    token_env: GATE_TEST_GIT_TOKEN
    token_user: gate-ci
    env: {GIVEN: "\${GATE_REGISTRY_PASSWORD}"}
    run: "sh probe.sh $scratch/probe-given.txt"
YAML
GATE_REGISTRY_USER=gate-bot GATE_REGISTRY_PASSWORD="$password" GATE_TEST_GIT_TOKEN="$token" \
  "$GATE_BIN" test --config "$scratch/given.yaml" --candidate "$registry/acme/emu@$digest" \
  --report-dir "$scratch/report-given" --cache-dir "$scratch/cache" >>"$scratch/out" 2>>"$scratch/err"
expect_eq "$?" 0 "the consumer given the password ran"
expect_file_contains "$scratch/probe-given.txt" "given in clear: $password" "the consumer had the password it was given"
expect_file_contains "$scratch/report-given/logs/given.log" "given in clear: \[redacted\]" "its log redacts it"

leaks() {  # secret prefix... : files (or outputs) holding any form of the secret
  python3 "$tools/secret_forms.py" "$@" >"$scratch/forms"
  grep -rlF -f "$scratch/forms" "$scratch/report" "$scratch/report-given" "$scratch/cache" "$scratch/out" "$scratch/err" \
    "$scratch/probe-url.txt" "$scratch/probe-env.txt" 2>/dev/null
}
found=$(leaks "$password" "gate-bot:")
[ -z "$found" ] && [ "$(wc -l <"$scratch/forms")" -ge 5 ] || fail "the registry password leaked into: $found"
found=$(leaks "$token" "gate-ci:")
[ -z "$found" ] || fail "the repository token leaked into: $found"
true
