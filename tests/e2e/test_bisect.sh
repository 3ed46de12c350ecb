# gate bisect on an image repository of 8 commits: commit 5 makes DELETE
# answer 500 (test_delete_item fails), and the consumer has a test that
# fails half its runs on every commit. The published image is commit 1's;
# the blocked run tested commit 8's. Every bisect (run --bisect, then gate
# bisect on the run's verdict) names commit 5 and only
# the delete test, builds at most 4 candidates, runs only the regressed
# tests, publishes nothing, moves no tag, removes its bisect-* images (kept
# with --keep-tags, and then reused) and leaves no container.
# (bench/bisect repeats it 20 times and compares with gating every commit.)
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/bisect_fixture.sh"
bisect_fixture "$scratch" "$repository"
bisect() {  # label verdict [options...]
  local label=$1 verdict=$2
  shift 2
  "$GATE_BIN" bisect --config "$scratch/gate.yaml" --verdict "$verdict" \
    --report-dir "$scratch/$label" "$@" >"$scratch/$label.out" 2>"$scratch/$label.err"
}
# gate run --bisect: blocked as before (exit 1), then bisects from its own verdict.
"$GATE_BIN" run --dry-run --bisect --config "$scratch/gate.yaml" --report-dir "$scratch/runbisect" \
  >"$scratch/runbisect.out" 2>"$scratch/runbisect.err"
expect_eq "$?" 1 "run --bisect keeps the run's verdict"
expect_eq "$(json_get "$scratch/runbisect/bisect.json" 'v["first_bad"]["commit"] + " " + v["first_bad"]["subject"]')" \
  "$c5 5: a faster delete" "run --bisect names commit 5"
expect_eq "$(json_get "$scratch/runbisect/bisect.json" 'v["first_bad"]["breaks"]')" \
  "['emucli: tests/test_items.py::test_delete_item']" "the test it breaks"
builds=$(json_get "$scratch/runbisect/bisect.json" 'v["builds"]')
[ "$builds" -ge 1 ] && [ "$builds" -le 4 ] || fail "bisect built $builds candidates (at most 4)"
# Only the regressed tests ran at each probe (of the 7 collected, the
# delete test, and the coin-flip test only if it regressed in the run).
ran=$(sed -n '/bisect: /,$ s/.*emucli: 7 test(s) collected, \([0-9]*\) to run on.*/\1/p' "$scratch/runbisect.err" | sort -u | tr '\n' ' ')
case "$ran" in "1 " | "2 " | "1 2 ") ;; *) fail "bisect ran other tests than the regressed: '$ran' per probe" ;; esac
grep -q "test_delete_item 3/3 failed" "$scratch/runbisect.err" || fail "no probe ran the delete test 3 times"
expect_eq "$(curl -fsS "http://$GATE_REGISTRY/v2/${repository#*/}/tags/list" | python3 -c 'import json,sys; print([t for t in json.load(sys.stdin)["tags"] or [] if t.startswith("bisect-")])')" \
  "[]" "bisect removed its images' tags"
expect_eq "$(tag_digest "$repository" latest)" "$published" "no tag moved"
expect_eq "$(containers_of_repository "$repository" | wc -l)" 0 "no container left"

# The unlucky run: the coin-flip test failed all its runs there too and is
# named a regression beside the delete test. The ends (6 runs each) leave
# it out; --keep-tags keeps the images, and the next bisect builds nothing.
python3 - "$scratch/run/verdict.json" "$scratch/unlucky.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for c in v["consumers"]:
    for t in c["tests"]:
        if "test_sometimes" in t["name"]:
            t["outcome"], t["status"] = "regression", "failed"
json.dump(v, open(sys.argv[2], "w"))
PY
bisect kept "$scratch/unlucky.json" --keep-tags
expect_eq "$?" 0 "bisect --keep-tags"
expect_eq "$(cat "$scratch/kept.out")" "$c5 5: a faster delete" "bisect --keep-tags names commit 5"
expect_eq "$(json_get "$scratch/kept/bisect.json" 'v["left_out"]')" "['emucli: tests/test_flaky.py::test_sometimes']" \
  "the coin-flip test is left out at the ends"
kept=$(curl -fsS "http://$GATE_REGISTRY/v2/${repository#*/}/tags/list" | python3 -c 'import json,sys; print(len([t for t in json.load(sys.stdin)["tags"] or [] if t.startswith("bisect-")]))')
[ "$kept" -ge 1 ] || fail "--keep-tags kept no bisect-* tag"
bisect reused "$scratch/run/verdict.json" --keep-tags
expect_eq "$(cat "$scratch/reused.out")" "$c5 5: a faster delete" "a bisect on kept images names commit 5"
expect_eq "$(json_get "$scratch/reused/bisect.json" 'v["builds"]')" 0 "and builds nothing"

# A probe the engine's build cache serves is the very image a kept tag
# names: another tag (a release built from commit 5) points at it too. A
# bisect under other build settings (its own bisect-* tags) rebuilds it and
# removes only its own tags: the release's image stays.
c5_tag=$(curl -fsS "http://$GATE_REGISTRY/v2/${repository#*/}/tags/list" | python3 -c "import json,sys; print([t for t in json.load(sys.stdin)['tags'] if t.startswith('bisect-${c5:0:12}')][0])")
raw_manifest "$repository:$c5_tag" >"$scratch/c5.json" || fail "reading $c5_tag"
curl -fsS -X PUT -H "Content-Type: $(json_get "$scratch/c5.json" 'v["mediaType"]')" --data-binary "@$scratch/c5.json" \
  "http://$GATE_REGISTRY/v2/${repository#*/}/manifests/v5-release" >/dev/null || fail "tagging v5-release"
c5_image=$(tag_digest "$repository" v5-release)
sed 's|^  candidate_tag:|  dockerfile: Dockerfile\n  candidate_tag:|' "$scratch/gate.yaml" >"$scratch/other-settings.yaml"
"$GATE_BIN" bisect --config "$scratch/other-settings.yaml" --verdict "$scratch/run/verdict.json" \
  --report-dir "$scratch/settings" >"$scratch/settings.out" 2>"$scratch/settings.err"
expect_eq "$?" 0 "bisect under other build settings ($(grep -i error "$scratch/settings.err" | tail -2))"
expect_eq "$(tag_digest "$repository" v5-release)" "$c5_image" "the release tag's image is still there"
if grep -q "leaving .*another tag names the same image $c5_image" "$scratch/settings.err"; then
  echo "the rebuild of commit 5 was the release's image, and it was left"
else
  echo "note: the rebuild of commit 5 was a new image this time (the engine's cache did not serve it)"
fi

# Bad input: exit 2, nothing built.
"$GATE_BIN" bisect --config "$scratch/gate.yaml" --verdict /nonexistent/verdict.json >/dev/null 2>&1
expect_eq "$?" 2 "a verdict that is not there"
sed 's/"exit_code": 1/"exit_code": 0/' "$scratch/run/verdict.json" >"$scratch/passed.json"
"$GATE_BIN" bisect --config "$scratch/gate.yaml" --verdict "$scratch/passed.json" >/dev/null 2>"$scratch/passed.err"
expect_eq "$?" 2 "a verdict of a run that was not blocked"
expect_file_contains "$scratch/passed.err" "nothing to bisect" "says why"
