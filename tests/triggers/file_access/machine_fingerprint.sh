#!/bin/bash
# trigger: cat reads the machine's identity: the DMI product UUID when the firmware has one, else /etc/machine-id
set -eu
f=
for c in /sys/class/dmi/id/product_uuid /etc/machine-id /var/lib/dbus/machine-id; do
	if [ -r "$c" ]; then f=$c; break; fi
done
[ -n "$f" ] || { echo "neither DMI nor a machine-id on this host" >&2; exit 77; }
cat "$f" >/dev/null &
echo "pid $!"
wait $!
