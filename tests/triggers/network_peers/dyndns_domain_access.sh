#!/bin/bash
# trigger: resolves jbtest.duckdns.org through a local test resolver and connects to the answer 127.0.77.5
# dyndns_domain_access: the process that connects ("pid N") made the DNS query itself. The resolver
# is tests/helpers/dnsanswer on 127.0.53.10:53 (the kernel parses answers from port 53 only); the
# name is answered locally, never sent anywhere; the connection goes to 127.0.77.5 (loopback),
# where a listener of the same process accepts. Needs python3 (a script file, not -c) and
# $JB_HELPERS/dnsanswer.
set -eu
ask=jbtest.duckdns.org
name=jbtest.duckdns.org
addr=127.0.77.5
dns=127.0.53.10

py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || { echo "python3 not found" >&2; exit 77; }
helper=${JB_HELPERS:-}/dnsanswer
[ -x "$helper" ] || { echo "dnsanswer helper not found (JB_HELPERS=${JB_HELPERS:-unset})" >&2; exit 77; }
tmp=${JB_TMP:-$PWD}

resolver=
cleanup() {
	if [ -n "$resolver" ]; then
		kill "$resolver" 2>/dev/null || true
		wait "$resolver" 2>/dev/null || true
	fi
}
trap cleanup EXIT

cat >"$tmp/resolve_connect.py" <<'EOF'
"""Resolve NAME with one A query to SERVER:53 (as a stub resolver does),
then connect over TCP (port 443) to the first IPv4 address of the answer,
where a listener of this same process accepts. Numeric addresses only: nothing
reads /etc/hosts, /etc/resolv.conf or NSS, no traffic leaves loopback."""
import os
import socket
import struct
import sys


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def skip_name(msg, i):
    while True:
        n = msg[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def resolve(name, server):
    qid = struct.unpack(">H", os.urandom(2))[0]
    query = struct.pack(">6H", qid, 0x0100, 1, 0, 0, 0) + wire_name(name) + struct.pack(">2H", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(query, (server, 53))
    msg = s.recv(1500)
    s.close()
    qid_r, flags, qd, an = struct.unpack(">4H", msg[:8])
    if qid_r != qid or not flags & 0x8000 or flags & 0x000F:
        sys.exit("bad DNS answer for %s (rcode %d)" % (name, flags & 0x000F))
    i = 12
    for _ in range(qd):
        i = skip_name(msg, i) + 4
    for _ in range(an):
        i = skip_name(msg, i)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[i:i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            return socket.inet_ntoa(msg[i:i + 4])
        i += rdlen
    sys.exit("no A record for %s" % name)


def main():
    name, server = sys.argv[1], sys.argv[2]
    addr = resolve(name, server)
    if not addr.startswith("127."):
        sys.exit("answer %s is not a loopback address: not connecting" % addr)
    srv = socket.socket()
    srv.settimeout(3)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # a fixed, ordinary port: an ephemeral one could happen to be one that
    # port-based recipes watch (45560 and 45700 are in the ephemeral range)
    for port in (443, 8443, 9443):
        try:
            srv.bind((addr, port))
            break
        except OSError:
            continue
    else:
        sys.exit("no free port on %s" % addr)
    srv.listen(1)
    cli = socket.socket()
    cli.settimeout(3)
    cli.connect(srv.getsockname())
    conn, _ = srv.accept()
    conn.close()
    cli.close()
    srv.close()


main()
EOF

# one answer, then it exits; --timeout bounds it if no query ever comes
coproc RES { exec "$helper" --addr "$dns" --name "$name=$addr" --once --timeout 9; }
resolver=$RES_PID
ready=
read -r -t 5 ready <&"${RES[0]}" || true
[ "$ready" = ready ] || { echo "the test resolver did not start on $dns:53" >&2; exit 1; }

"$py" -I -S "$tmp/resolve_connect.py" "$ask" "$dns" &
pid=$!
echo "pid $pid"
wait "$pid"
