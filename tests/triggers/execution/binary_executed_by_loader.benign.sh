#!/bin/bash
# trigger: ldd /usr/bin/true: the loader runs only with --version, --verify and LD_TRACE_LOADED_OBJECTS
set -eu
command -v ldd >/dev/null || { echo "ldd is missing" >&2; exit 77; }
ldd /usr/bin/true >/dev/null &
echo "pid $!"
wait $!
