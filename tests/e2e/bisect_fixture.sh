# The fixture of gate bisect's test and bench: in DIR, an image repository
# of 8 commits where commit 5 makes DELETE answer 500 (test_delete_item
# fails), a consumer with a test that fails half its runs on every commit,
# DIR/gate.yaml for REPOSITORY, commit 1's image published as latest, and
# the blocked run of commit 8 in DIR/run (its verdict.json). Sets c1, c5
# and published. Needs lib.sh's fail, expect_eq and json_get.
bisect_fixture() {  # dir repository
  local dir=$1 repo=$2 out i
  image="$dir/image-repo"
  mkdir -p "$image"
  cp "$GATE_BUILD_DIR/demo/image/Dockerfile" "$GATE_BUILD_DIR/demo/image/emulator-v1" "$image/"
  git -C "$image" init -q -b main
  commit() { git -C "$image" add -A && git -C "$image" -c user.name=t -c user.email=t@e commit -qm "$1"; }
  commit "1: the published image"
  for i in 2 3 4; do echo "note $i" >>"$image/NOTES"; commit "$i: notes"; done
  sed -i 's/^ARG BREAK=$/ARG BREAK=delete/' "$image/Dockerfile"
  grep -q '^ARG BREAK=delete$' "$image/Dockerfile" || fail "could not set the break in the Dockerfile"
  commit "5: a faster delete"
  for i in 6 7 8; do echo "note $i" >>"$image/NOTES"; commit "$i: notes"; done
  c1=$(git -C "$image" rev-list --reverse main | sed -n 1p)
  c5=$(git -C "$image" rev-list --reverse main | sed -n 5p)

  consumer="$dir/consumer"
  cp -r "$GATE_BUILD_DIR/demo/consumer" "$consumer"
  rm -rf "$consumer/.git"
  printf 'import random\n\n\ndef test_sometimes():\n    assert random.random() < 0.5, "the coin came up tails"\n' \
    >"$consumer/tests/test_flaky.py"
  git -C "$consumer" init -q -b main && git -C "$consumer" add -A &&
    git -C "$consumer" -c user.name=t -c user.email=t@e commit -qm consumer

  cat >"$dir/gate.yaml" <<YAML
version: 1
image:
  repository: $repo
  context: $image
  candidate_tag: "pr-\${GIT_SHA}"
  publish_tags: [latest]
consumers:
  - name: emucli
    repo: $consumer
    runner: pytest
    run: ["/usr/bin/python3", "-m", "pytest"]
    tests: [tests]
    env: {EMULATOR_IMAGE: "\${CANDIDATE_REF}"}
    retries: 2
YAML

  # The published image: commit 1's, labelled with its commit by gate build.
  git -C "$image" checkout -q "$c1"
  out=$("$GATE_BIN" build --config "$dir/gate.yaml" --report-dir "$dir/b1" 2>"$dir/b1.err")
  expect_eq "$?" 0 "build of commit 1 ($(tail -2 "$dir/b1.err"))"
  published=${out##*@}
  "$GATE_BIN" publish --config "$dir/gate.yaml" --candidate "$repo@$published" --override \
    --reason "the published image of this test" >/dev/null 2>&1 || fail "publishing commit 1"
  git -C "$image" checkout -q main

  # The blocked run, on commit 8.
  "$GATE_BIN" run --dry-run --config "$dir/gate.yaml" --report-dir "$dir/run" >/dev/null 2>"$dir/run.err"
  expect_eq "$?" 1 "the run on commit 8 is blocked"
  expect_eq "$(json_get "$dir/run/verdict.json" '[t["name"] for c in v["consumers"] for t in c["tests"] if t["outcome"] == "regression" and "delete" in t["name"]]')" \
    "['tests/test_items.py::test_delete_item']" "test_delete_item regressed"
}
