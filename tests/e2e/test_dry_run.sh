# --dry-run: the whole gate, green, exit 0, and no tag moved.
source "$(dirname "$0")/lib.sh"

write_demo_config v1
"$GATE_BIN" run --dry-run --config "$scratch/gate.yaml" --report-dir "$scratch/report" >/dev/null 2>"$scratch/err"
expect_eq "$?" 0 "dry run exit code"
expect_eq "$(tag_digest "$repository" latest)" none "latest after a dry run"
expect_eq "$(tag_digest "$repository" stable)" none "stable after a dry run"
expect_eq "$(json_get "$scratch/report/verdict.json" 'v["dry_run"]')" True "verdict says dry run"
expect_eq "$(json_get "$scratch/report/verdict.json" 'v["published"]')" "[]" "nothing published"
expect_file_contains "$scratch/err" "dry run: nothing published" "dry run says so"
# The candidate itself was pushed (it is what was tested).
case "$(tag_digest "$repository" "pr-v1-$$")" in sha256:*) ;; *) fail "candidate tag not pushed" ;; esac
