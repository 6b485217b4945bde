#!/bin/bash
# trigger: base64 encodes nothing (stdin /dev/null)
set -eu
base64 </dev/null >/dev/null &
echo "pid $!"
wait $!
