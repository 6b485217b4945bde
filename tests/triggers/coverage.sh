#!/bin/sh
# coverage.sh - write the coverage table of docs/DETECTIONS.md to stdout:
# every built-in recipe, what its trigger and its benign twin do (their
# "# trigger:" lines) and the test that runs them. check_triggers fails if
# docs/DETECTIONS.md does not hold exactly this table.
set -eu
cd "$(dirname "$0")/../.."
field() { sed -n "s/^  $1: *\"\{0,1\}\([^\"]*\)\"\{0,1\} *\$/\1/p" "$2" | head -n1; }
what() { [ -f "$1" ] && sed -n 's/^# trigger: *//p' "$1" | head -n1 | sed 's/|/\\|/g' || echo "(missing)"; }
echo "| recipe | mechanism | importance | MITRE | trigger (does it for real) | benign twin (must not fire) | test |"
echo "|---|---|---|---|---|---|---|"
for f in recipes/*/*.yaml; do
	mech=$(basename "$(dirname "$f")")
	kind=$(basename "$f" .yaml)
	t=tests/triggers/$mech/$kind.sh
	b=tests/triggers/$mech/$kind.benign.sh
	tech=$(field subtechnique "$f")
	[ -n "$tech" ] || tech=$(field technique "$f")
	echo "| \`$kind\` | $mech | $(field importance "$f") | $tech | $(what "$t") | $(what "$b") | check_triggers: \`$t\` |"
done
