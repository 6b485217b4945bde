#!/bin/bash
# trigger: sshpass -V (prints its version, logs in nowhere)
set -eu
command -v sshpass >/dev/null || { echo "sshpass is not installed (Makefile DEB_PKGS)" >&2; exit 77; }
sshpass -V >/dev/null &
echo "pid $!"
wait $!
