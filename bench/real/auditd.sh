#!/bin/sh
# bench/real/auditd.sh start|stop DIR - auditd as the peer of `make bench-real`,
# watching the same ground as jibril's catalogue does: every execve and
# connect, and writes, reads and attribute changes of the credential and
# persistence files the recipes protect. Its log goes to DIR/audit/; the
# kernel's audit state is put back as found (rules deleted, disabled).
# start prints auditd's pid once the rules are in; both exit non-zero with
# the reason on failure.
set -eu
A=$2/audit
case $1 in
start)
	command -v auditd >/dev/null && command -v auditctl >/dev/null ||
		{ echo "auditd.sh: auditd is not installed" >&2; exit 1; }
	mkdir -p "$A" && chmod 0700 "$A" && : >"$A/audit.log" && chmod 0600 "$A/audit.log"
	cat >"$A/auditd.conf" <<C
log_file = $A/audit.log
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 1024
num_logs = 2
max_log_file_action = ROTATE
space_left = 75
space_left_action = IGNORE
admin_space_left = 50
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
C
	chmod 0640 "$A/auditd.conf"
	auditctl -D >/dev/null
	auditd -c "$A"
	i=0
	until pid=$(auditctl -s | awk '$1 == "pid" && $2 > 0 {print $2}') && [ -n "$pid" ]; do
		i=$((i + 1)); [ $i -le 100 ] || { echo "auditd.sh: auditd did not register" >&2; exit 1; }
		sleep 0.05
	done
	{
		echo "-a always,exit -F arch=b64 -S execve,execveat -k exec"
		echo "-a always,exit -F arch=b64 -S connect -k net"
		for f in /etc/shadow /etc/gshadow /etc/passwd /etc/group /etc/sudoers /etc/sudoers.d \
			/etc/ld.so.preload /etc/crontab /etc/cron.d /root/.ssh /etc/ssh/sshd_config \
			/etc/pam.d /etc/systemd/system /var/spool/cron; do
			[ -e "$f" ] && echo "-w $f -p rwa -k files"
		done
	} >"$A/rules"
	auditctl -R "$A/rules" >/dev/null
	auditctl -e 1 >/dev/null
	echo "$pid"
	;;
stop)
	auditctl -D >/dev/null 2>&1 || :
	auditctl -e 0 >/dev/null 2>&1 || :
	pid=$(auditctl -s 2>/dev/null | awk '$1 == "pid" && $2 > 0 {print $2}')
	[ -z "$pid" ] && exit 0
	kill "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1)); [ $i -le 200 ] || { echo "auditd.sh: auditd $pid did not exit" >&2; exit 1; }
		sleep 0.05
	done
	;;
*)
	echo "usage: auditd.sh start|stop DIR" >&2; exit 2
	;;
esac
