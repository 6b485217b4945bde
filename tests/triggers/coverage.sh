#!/bin/sh
# coverage.sh - write the coverage table of docs/DETECTIONS.md to stdout:
# every built-in recipe, what its trigger and its benign twin do (their
# "# trigger:" lines) and the test that runs them. check_triggers fails if
# docs/DETECTIONS.md does not hold exactly this table.
# The tamper recipes act on the running agent itself (its pids, its maps),
# which a script cannot know: their triggers and twins are C tests in
# tests/check_tamper.c, each declared there by a line
#   /* tamper-trigger KIND: what it does */   and   /* tamper-twin KIND: ... */
set -eu
cd "$(dirname "$0")/../.."
field() { sed -n "s/^  $1: *\"\{0,1\}\([^\"]*\)\"\{0,1\} *\$/\1/p" "$2" | head -n1; }
what() { [ -f "$1" ] && sed -n 's/^# trigger: *//p' "$1" | head -n1 | sed 's/|/\\|/g' || echo "(missing)"; }
echo "| recipe | mechanism | importance | MITRE | trigger (does it for real) | benign twin (must not fire) | test |"
echo "|---|---|---|---|---|---|---|"
tamper_what() {
	w=$(sed -n "s|^/\* tamper-$1 $2: *\(.*[^ ]\) *\*/\$|\1|p" tests/check_tamper.c 2>/dev/null |
		head -n1 | sed 's/|/\\|/g')
	echo "${w:-(missing)}"
}
for f in recipes/*/*.yaml; do
	mech=$(basename "$(dirname "$f")")
	kind=$(basename "$f" .yaml)
	t=tests/triggers/$mech/$kind.sh
	b=tests/triggers/$mech/$kind.benign.sh
	tech=$(field subtechnique "$f")
	[ -n "$tech" ] || tech=$(field technique "$f")
	if [ "$mech" = tamper ]; then
		echo "| \`$kind\` | $mech | $(field importance "$f") | $tech | $(tamper_what trigger "$kind") | $(tamper_what twin "$kind") | check_tamper: \`tests/check_tamper.c\` |"
		continue
	fi
	echo "| \`$kind\` | $mech | $(field importance "$f") | $tech | $(what "$t") | $(what "$b") | check_triggers: \`$t\` |"
done
