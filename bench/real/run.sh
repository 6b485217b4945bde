#!/bin/sh
# bench/real/run.sh DIR PORT WORKLOAD - one timed run of a real workload of
# `make bench-real` (bench/harness/real.c times it from outside); DIR was
# prepared by setup.sh and, for web_*, nginx listens on 127.0.0.1:PORT.
#   build      make -j2 of cproj from clean
#   files      git status/grep/log and find|sha1sum over tree, a copy and removal
#   web_close  ab, a new TCP connection per request (ab on the first CPU)
#   web_keep   ab -k, keep-alive
#   tests      a fixed set of modules of CPython's own test suite
# Prints nothing on success but the tools' own summary line; exits non-zero
# when the workload failed (a failed run is not a timing).
set -eu
DIR=$1 PORT=$2 W=$3
case $W in
build)
	make -s -C "$DIR/cproj" clean
	make -s -C "$DIR/cproj" -j2 >/dev/null
	test -x "$DIR/cproj/bin/main2"
	;;
files)
	cd "$DIR/tree"
	for pass in 1 2; do
	git status --porcelain >/dev/null
	git grep -c -e pthread_mutex -e sockaddr >/dev/null
	git log --stat -1 >/dev/null
	find . -path ./.git -prune -o -type f -print0 | xargs -0 sha1sum >/dev/null
	rm -rf "$DIR/copy" && cp -a linux "$DIR/copy" && rm -rf "$DIR/copy"
	done
	git status --porcelain | { ! grep -q .; }
	;;
web_close | web_keep)
	k=; n=100000
	[ $W = web_keep ] && { k=-k; n=400000; }
	pin=; [ "$(nproc)" -gt 1 ] && pin="taskset -c 0" # nginx is on the last CPU
	out=$($pin ab -q $k -n $n -c 8 "http://127.0.0.1:$PORT/index.html" 2>&1)
	echo "$out" | grep -q "^Failed requests: *0" || { echo "$out" >&2; exit 1; }
	echo "$out" | grep -q "^Complete requests: *$n" || { echo "$out" >&2; exit 1; }
	;;
tests)
	cd "$DIR"
	/usr/bin/python3 -m test -q test_json test_glob test_shutil test_tempfile \
		test_fnmatch test_csv test_textwrap test_difflib test_os >"$DIR/tests.log" 2>&1 ||
		{ tail -20 "$DIR/tests.log" >&2; exit 1; }
	;;
*)
	echo "run.sh: unknown workload $W" >&2
	exit 2
	;;
esac
