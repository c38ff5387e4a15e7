#!/usr/bin/env bash
# Review a change to lvsync files for a pull/merge request; used by github-actions.yml and
# gitlab-ci.yml, and runnable by hand:
#
#   BASE=origin/main examples/ci/lvsync-review.sh directors/*.yaml > comment.md
#
# 1. Validates every file given; an invalid one fails the job (exit 1) after all are checked.
# 2. For every file that differs from BASE, writes `lvsync diff --format markdown` (a file new
#    in this change is compared with an empty one).
# 3. When SNAPSHOTS names a directory holding NAME.json for a file NAME.yaml (a snapshot a
#    director published with `lvsync export --format json`), adds the plan against it
#    (`lvsync plan --observed`): what apply would really do on that director.
# The comment goes to stdout; exit 0 when every file is valid.
set -uo pipefail

LVSYNC=${LVSYNC:-lvsync}
BASE=${BASE:?set BASE to the git revision the change is compared with, e.g. origin/main}
SNAPSHOTS=${SNAPSHOTS:-}

if [ "$#" -eq 0 ]; then
    echo "usage: BASE=REV $0 FILE..." >&2
    exit 1
fi

if ! "$LVSYNC" validate "$@" >&2; then
    echo "### lvsync: invalid file"
    echo
    echo "\`lvsync validate\` failed; see the job log for the file, line and problem."
    exit 1
fi

changed=0
diff_md=$(mktemp)
trap 'rm -f "$diff_md"' EXIT
for file in "$@"; do
    if git cat-file -e "$BASE:$file" 2>/dev/null; then
        old=$(git show "$BASE:$file")
    else
        old="version: 1"
    fi
    printf '%s\n' "$old" | "$LVSYNC" diff - "$file" --format markdown > "$diff_md"
    status=$?
    case $status in
        0) continue ;;
        2) changed=1 ;;
        *) echo "lvsync diff failed on $file (status $status)" >&2; exit 1 ;;
    esac
    # The markdown names stdin; say which file and revision it was.
    sed "1s|\`<stdin>\`|\`$BASE:$file\`|" "$diff_md"
    snapshot="$SNAPSHOTS/$(basename "$file" .yaml).json"
    if [ -n "$SNAPSHOTS" ] && [ -f "$snapshot" ]; then
        echo
        echo "<details><summary>Plan against the director's snapshot <code>$(basename "$snapshot")</code></summary>"
        echo
        echo '```'
        "$LVSYNC" plan "$file" --observed "$snapshot" || exit 1
        echo '```'
        echo
        echo "</details>"
    fi
    echo
done
if [ "$changed" -eq 0 ]; then
    echo "lvsync: no change to the directors' state."
fi
exit 0
