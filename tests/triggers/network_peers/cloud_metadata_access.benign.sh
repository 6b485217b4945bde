#!/bin/bash
# trigger: connects to 169.254.169.253:80 inside a network namespace it creates (not a metadata address: no detection)
# cloud_metadata_access (benign twin): a network namespace of the script's own holds 169.254.169.253 on its
# loopback interface; the python3 process (pid N; "ip netns exec" execs it in place) listens
# there and connects to itself. Nothing leaves the namespace, which is deleted on exit.
set -eu
addr=169.254.169.253
port=80
ns=jbc3mdb$$

py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || { echo "python3 not found" >&2; exit 77; }
command -v ip >/dev/null || { echo "ip (iproute2) not found" >&2; exit 77; }
tmp=${JB_TMP:-$PWD}

made=
cleanup() {
	if [ -n "$made" ]; then ip netns del "$ns" 2>/dev/null || true; fi
}
trap cleanup EXIT

cat >"$tmp/metadata_connect.py" <<'EOF'
"""Inside a network namespace of the trigger's own: listen on ADDR:PORT,
connect to it, send one HTTP request for the instance role credentials
path, read the reply. Only the namespace's own loopback interface is used."""
import socket
import sys


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    srv = socket.socket()
    srv.settimeout(3)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1)
    cli = socket.socket()
    cli.settimeout(3)
    cli.connect((addr, port))
    conn, _ = srv.accept()
    cli.sendall(b"GET /latest/meta-data/iam/security-credentials/ HTTP/1.0\r\nHost: "
                + addr.encode() + b"\r\n\r\n")
    conn.recv(1024)
    conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    cli.recv(1024)
    conn.close()
    cli.close()
    srv.close()


main()
EOF

ip netns add "$ns"
made=1
ip -n "$ns" link set lo up
ip -n "$ns" addr add "$addr/32" dev lo

ip netns exec "$ns" "$py" -I -S "$tmp/metadata_connect.py" "$addr" "$port" &
pid=$!
echo "pid $pid"
wait "$pid"
