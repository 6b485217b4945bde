#!/bin/bash
# trigger: iptables -L -n (list the rules) in a fresh network namespace of its own
set -eu
command -v iptables >/dev/null || { echo "iptables is not installed (Makefile DEB_PKGS)" >&2; exit 77; }
unshare -n true 2>/dev/null || { echo "cannot create a network namespace" >&2; exit 77; }
unshare -n iptables -L -n >/dev/null &
echo "pid $!"
wait $!
