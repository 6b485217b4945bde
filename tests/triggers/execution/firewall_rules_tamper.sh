#!/bin/bash
# trigger: iptables -F (flush every rule) in a fresh network namespace of its own (unshare -n): a real flush, of an empty ruleset
set -eu
command -v iptables >/dev/null || { echo "iptables is not installed (Makefile DEB_PKGS)" >&2; exit 77; }
unshare -n true 2>/dev/null || { echo "cannot create a network namespace" >&2; exit 77; }
unshare -n iptables -F &
echo "pid $!"
wait $!
