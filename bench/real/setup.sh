#!/bin/sh
# bench/real/setup.sh DIR PORT - prepares the real workloads of `make bench-real`
# (bench/harness/real.c) in DIR, once, before any timed run:
#   cproj/  a generated C project (40 units including real system headers, a
#           static library and three programs): built from clean by `build`
#   tree/   a git repository of a copy of /usr/include: walked by `files`
#   www/    nginx's root (a 4 KiB page) and nginx.conf on 127.0.0.1:PORT (one
#           worker, pinned to the last CPU)
# Nothing comes from the network: the sources are generated or copied from
# Debian packages already installed. Idempotent; exits non-zero with a reason.
set -eu
DIR=$1 PORT=$2
for t in nginx ab git make gcc sha1sum python3; do
	command -v $t >/dev/null || { echo "setup: $t is missing" >&2; exit 1; }
done
/usr/bin/python3 -c 'import test.support' 2>/dev/null ||
	{ echo "setup: python's test suite is missing (libpython3.11-testsuite)" >&2; exit 1; }
mkdir -p "$DIR"

# --- cproj: 40 units, each a few hundred lines of ordinary C ---------------
if [ ! -f "$DIR/cproj/Makefile" ]; then
	mkdir -p "$DIR/cproj/src"
	i=0
	while [ $i -lt 40 ]; do
		f="$DIR/cproj/src/u$i.c"
		{
			echo '#include <stdio.h>'
			echo '#include <stdlib.h>'
			echo '#include <string.h>'
			echo '#include <errno.h>'
			echo '#include <pthread.h>'
			echo '#include <sys/stat.h>'
			echo '#include <sys/socket.h>'
			echo '#include <netinet/in.h>'
			echo '#include <arpa/inet.h>'
			echo '#include <unistd.h>'
			echo '#include <math.h>'
			echo "struct rec$i { char name[32]; int n; double w; struct rec$i *next; };"
			j=0
			while [ $j -lt 16 ]; do
				cat <<C
static int cmp_${i}_$j(const void *a, const void *b)
{
	const struct rec$i *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}
double work_${i}_$j(int n)
{
	struct rec$i *v = calloc((size_t)n + 1, sizeof(*v));
	double s = 0;
	if (!v)
		return -errno;
	for (int k = 0; k < n; k++) {
		snprintf(v[k].name, sizeof(v[k].name), "%d-%d", k * $j, k ^ $i);
		v[k].n = (k * 2654435761u) >> 7;
		v[k].w = sqrt((double)k + $j);
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_${i}_$j);
	for (int k = 0; k < n; k++)
		s += v[k].w * (v[k].n & 0xff) + strlen(v[k].name);
	free(v);
	return s;
}
C
				j=$((j + 1))
			done
		} >"$f"
		i=$((i + 1))
	done
	for p in 0 1 2; do
		{
			echo '#include <stdio.h>'
			echo 'double work_0_0(int); double work_1_1(int); double work_2_2(int);'
			echo "int main(void) { printf(\"%f\\\\n\", work_0_0($p) + work_1_1(3) + work_2_2(4)); return 0; }"
		} >"$DIR/cproj/src/main$p.c"
	done
	cat >"$DIR/cproj/Makefile" <<'M'
SRCS := $(wildcard src/u*.c)
OBJS := $(SRCS:src/%.c=obj/%.o)
all: bin/main0 bin/main1 bin/main2
obj bin:
	mkdir -p $@
obj/%.o: src/%.c | obj
	$(CC) -O2 -g -Wall -c -o $@ $<
lib/libu.a: $(OBJS)
	mkdir -p lib && ar rcs $@ $^
bin/%: src/%.c lib/libu.a | bin
	$(CC) -O2 -o $@ $< -Llib -lu -lm -lpthread
clean:
	rm -rf obj lib bin
.PHONY: all clean
M
fi

# --- tree: a git repository of /usr/include --------------------------------
if [ ! -d "$DIR/tree/.git" ]; then
	rm -rf "$DIR/tree"
	cp -a /usr/include "$DIR/tree"
	(cd "$DIR/tree" && git init -q && git add -A &&
		git -c user.name=bench -c user.email=bench@localhost commit -q -m import)
fi

# --- www: nginx on loopback ------------------------------------------------
mkdir -p "$DIR/www/html" "$DIR/www/tmp"
head -c 4096 /usr/share/common-licenses/GPL-3 >"$DIR/www/html/index.html"
# one worker on the last CPU and ab (run.sh) on the first: two processes
# left to the scheduler on two CPUs made a run's time swing by 15 %
last=$(($(nproc) - 1))
aff=; [ $last -gt 0 ] && aff="worker_cpu_affinity $(printf '1%*s' $last '' | tr ' ' 0);"
cat >"$DIR/www/nginx.conf" <<N
worker_processes 1;
$aff
pid $DIR/www/nginx.pid;
error_log $DIR/www/error.log warn;
events { worker_connections 1024; }
http {
	access_log $DIR/www/access.log;
	client_body_temp_path $DIR/www/tmp/body;
	proxy_temp_path $DIR/www/tmp/proxy;
	fastcgi_temp_path $DIR/www/tmp/fastcgi;
	uwsgi_temp_path $DIR/www/tmp/uwsgi;
	scgi_temp_path $DIR/www/tmp/scgi;
	server {
		listen 127.0.0.1:$PORT;
		root $DIR/www/html;
	}
}
N
echo "setup: ready in $DIR"
