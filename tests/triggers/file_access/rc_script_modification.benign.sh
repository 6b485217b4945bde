#!/bin/bash
# trigger: a subshell writes a file named rc.local into the test directory (an rc.local outside /etc)
set -eu
trap 'rm -f "$JB_TMP/rc.local"' EXIT
(printf '#!/bin/sh\nexit 0\n' >"$JB_TMP/rc.local") &
echo "pid $!"
wait $!
