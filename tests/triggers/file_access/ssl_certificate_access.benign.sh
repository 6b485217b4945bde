#!/bin/bash
# trigger: cat reads public certificates only (/etc/ssl/certs/ca-certificates.crt, what every TLS client reads)
set -eu
f=/etc/ssl/certs/ca-certificates.crt
[ -r "$f" ] || f=/etc/ssl/openssl.cnf
[ -r "$f" ] || { echo "no /etc/ssl files on this host" >&2; exit 77; }
cat "$f" >/dev/null &
echo "pid $!"
wait $!
