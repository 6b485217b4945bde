# jibril.conf.install.sed - jibril.conf as `make install` puts it in
# @SYSCONFDIR@/jibril/jibril.conf: a service prints its detections to a file
# that logrotate rotates (contrib/logrotate/jibril), not to the journal, and
# loads the local recipe directory `make install` makes. The Makefile fills
# in @SYSCONFDIR@; tests/check_install.c checks every line below took.
/^# Every key below is set to its built-in default/i\
# Installed by `make install`: the lines that say "installed" differ from\
# the built-in defaults (detections go to a file logrotate rotates, the\
# local recipes are loaded from @SYSCONFDIR@/jibril/recipes).
s|^stdout = yes$|stdout = no ; installed (built-in: yes): the journal has the log, not the detections|
s|^file =$|file = /var/log/jibril/detections.json ; installed (built-in: empty)|
s|^file_max_bytes = 104857600$|file_max_bytes = 0 ; installed (built-in: 104857600): logrotate rotates it|
s|^dir =$|dir = @SYSCONFDIR@/jibril/recipes ; installed (built-in: empty)|
