#!/bin/bash
# trigger: cat reads a TLS private key in /etc/ssl/private (the host's own, e.g. ssl-cert-snakeoil.key, else a stand-in key created there and removed at exit)
set -eu
d=/etc/ssl/private
made_dir=0
made_file=
cleanup() {
	if [ -n "$made_file" ]; then rm -f "$made_file"; fi
	if [ "$made_dir" = 1 ]; then rmdir "$d" 2>/dev/null || :; fi
}
trap cleanup EXIT
key=
if [ -d "$d" ]; then
	for k in "$d"/*; do
		if [ -f "$k" ] && [ -r "$k" ]; then key=$k; break; fi
	done
else
	[ -d /etc/ssl ] || { echo "no /etc/ssl on this host" >&2; exit 77; }
	mkdir -m 710 "$d"
	made_dir=1
fi
if [ -z "$key" ]; then
	key=$d/jibril-test-$$.key
	made_file=$key
	( umask 077; printf '%s\n' '-----BEGIN PRIVATE KEY-----' \
		'amlicmlsIHRyaWdnZXIgdGVzdDogbm90IGEga2V5Cg==' '-----END PRIVATE KEY-----' > "$key" )
fi
cat "$key" >/dev/null &
echo "pid $!"
wait $!
