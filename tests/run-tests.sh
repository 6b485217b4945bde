#!/usr/bin/env bash
# Runs every Check binary given, prints each one's summary, and a closing
# "N passed, N failed, N skipped" line. Exit status non-zero if any failed.
set -u
pass=0 fail=0 skip=0 failed=() why=()
for t in "$@"; do
	t0=$(date +%s)
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out" | sed "s|^|[$(basename "$t")] |"
	echo "[$(basename "$t")] took $(( $(date +%s) - t0 )) s"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+' | tail -n1)
	if [ -n "$line" ]; then
		c=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
		f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
		e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
		pass=$((pass + c - f - e)); fail=$((fail + f + e))
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1))
	fi
	s=$(printf '%s\n' "$out" | grep -c '^SKIP:' || true)
	skip=$((skip + s))
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		failed+=("$(basename "$t")"); [ -z "$line" ] && fail=$((fail + 1))
		# CI shows only the end of the output: keep each failure's reason
		# (Check's ":F:" / ":E:" lines, or the last lines) for the end.
		r=$(printf '%s\n' "$out" | grep -E ':[FE]:' | tail -n 8)
		[ -z "$r" ] && r=$(printf '%s\n' "$out" | tail -n 8)
		why+=("$(printf '%s\n' "$r" | sed "s|^|[$(basename "$t")] |")")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "--- why each failed suite failed (its output is above in full) ---"
	printf '%s\n' "${why[@]}"
	echo "failed suites: ${failed[*]}"
fi
echo "${pass} passed, ${fail} failed, ${skip} skipped"
[ ${#failed[@]} -eq 0 ]
