#!/usr/bin/env bash
# run.sh - run each libFuzzer harness fuzz_NAME for a bounded time from a
# copy of its seed corpus (fuzz/corpus/NAME/), so a run never writes into
# the tree.
#
#   fuzz/run.sh --probe CLANG
#       0 when CLANG links a -fsanitize=fuzzer,address,undefined program;
#       otherwise print "SKIP: fuzz: why" and return 1.
#   fuzz/run.sh [--seconds S] [--bin-dir DIR] fuzz_NAME...
#       run DIR/fuzz_NAME for S seconds each (fuzz/NAME.dict as its
#       dictionary), as many at once as there are CPUs; one line each, in
#       the order given: runs, seconds, corpus growth. A crash,
#       leak, timeout (10 s) or out-of-memory (1 GiB) fails the run; its
#       input is kept in DIR/artifacts/fuzz_NAME/.
set -u
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = --probe ]; then
	cc=${2:-clang}
	if ! command -v "$cc" >/dev/null; then
		echo "SKIP: fuzz: no $cc; install clang and libclang-rt-dev"
		exit 1
	fi
	t=$(mktemp -d) || exit 1
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }' >"$t/p.c"
	if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$t/p" "$t/p.c" >"$t/err" 2>&1; then
		why=$(grep -m1 -E 'cannot find|error|not found' "$t/err" || head -n1 "$t/err")
		echo "SKIP: fuzz: $cc cannot build a libFuzzer target ($why);" \
			"install clang and libclang-rt-dev"
		rm -rf "$t"
		exit 1
	fi
	rm -rf "$t"
	exit 0
fi

secs=15 bindir=build/fuzz
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) secs=$2; shift 2 ;;
	--bin-dir) bindir=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--seconds S] [--bin-dir DIR] fuzz_NAME..." >&2; exit 2; }

# what to show of a failure: the harness's own words, the sanitizer's
# report and its frames in our code, libFuzzer's summary
show='^fuzz_|^==[0-9]+==|runtime error|^(READ|WRITE) of|SUMMARY|Test unit written|out-of-memory'
show="$show|#[0-9]+ .* [^ ]*/(fuzz|ipc|rcp|supervisor|common|workers|printers|exporter)/[^ /]+\.c:[0-9]+"
# one harness: its report into $out/$name.out, its status into $out/$name.rc
run_one() {
	local name=$1 bin=$bindir/$1 short=${1#fuzz_} t rc start end runs grown took rate line
	if [ ! -x "$bin" ]; then
		echo "FAIL: $name: $bin was not built"
		return 1
	fi
	t=$(mktemp -d) || return 1
	mkdir -p "$t/corpus" "$t/art"
	[ -d "$here/corpus/$short" ] && cp -r "$here/corpus/$short/." "$t/corpus/"
	seeds=$(find "$t/corpus" -type f | wc -l)
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1
	      -artifact_prefix="$t/art/")
	[ -f "$here/$short.dict" ] && args+=(-dict="$here/$short.dict")
	start=$(date +%s.%N)
	"$bin" "${args[@]}" "$t/corpus" >"$t/log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$t/log" | tail -n1)
	grown=$(find "$t/corpus" -type f | wc -l)
	took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	rate=$(awk -v r="${runs:-0}" -v s="$took" 'BEGIN { printf("%d", s > 0 ? r / s : 0) }')
	line="$name: ${runs:-?} runs in $took s ($rate/s), corpus $seeds -> $grown inputs"
	if [ $rc -eq 0 ]; then
		echo "fuzz: $line: ok"
	else
		echo "FAIL: fuzz: $line: exit $rc"
		grep -E "$show" "$t/log" | head -n25 | sed 's/^/    /'
		keep=$bindir/artifacts/$name
		mkdir -p "$keep"
		for a in "$t"/art/*; do
			[ -e "$a" ] || continue
			cp "$a" "$keep/"
			echo "    reproduce: $bin $keep/$(basename "$a")"
		done
	fi
	rm -rf "$t"
	return $rc
}

# as many harnesses at once as there are CPUs (each is one process), each
# for its full time; the reports in the order given
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
jobs=$(nproc 2>/dev/null || echo 1)
running=0
for name in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	( run_one "$name" >"$out/$name.out" 2>&1; echo $? >"$out/$name.rc" ) &
	running=$((running + 1))
done
wait
failed=()
for name in "$@"; do
	cat "$out/$name.out"
	[ "$(cat "$out/$name.rc" 2>/dev/null)" = 0 ] || failed+=("$name")
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: failed: ${failed[*]}"; exit 1; }
