# jibril - build, run, test.
#   make          build everything into build/
#   make run      build, then run the agent with ./jibril.conf (root)
#   make check    build, then run every test (root for the kernel tests)
#   make bench    build, then run the benchmark harness (root; several minutes)
#   make bench-real  its real-workload section alone (root; about 30 minutes)
# Missing Debian packages are installed when run as root (else the exact
# apt-get line is printed and the build stops).

OUT      := build
CC       ?= gcc
# the kernel's name for this machine's architecture (bpf_tracing.h wants it)
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
		-e 's/ppc64le/powerpc/' -e 's/s390x/s390/' -e 's/riscv64/riscv/' \
		-e 's/loongarch64/loongarch/')
CLANG    ?= clang
BPFTOOL  ?= bpftool
CONF     ?= jibril.conf

# iptables, sshpass, sudo: the real tools the trigger scripts of firewall_rules_tamper,
# ssh_password_guessing and sudo_rights_enumeration run (tests/triggers/execution/);
DEB_PKGS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libevent-dev libmsgpack-dev \
            libseccomp-dev libcurl4-openssl-dev libssl-dev check libjansson-dev libinih-dev \
            libcap-ng-dev libyaml-dev libpcre2-dev pkg-config iproute2 procps \
            iptables sshpass sudo libnats-dev
PC_LIBS  := libbpf libevent msgpack libseccomp jansson inih libcap-ng yaml-0.1 libpcre2-8 \
            libcrypto libcurl libssl libnats
# sd_notify(3): READY/STATUS/WATCHDOG under systemd (supervisor/notify.c)
DEB_PKGS += libsystemd-dev
PC_LIBS  += libsystemd

CFLAGS   ?= -O2 -g
# WERROR=1 (CI) turns every warning into an error; SECCOMP_LOG=1 builds
# children whose filters log a forbidden syscall instead of killing (debug
# only: to find what a change needs, never to run)
CFLAGS   += $(if $(WERROR),-Werror) $(if $(SECCOMP_LOG),-DJB_SECCOMP_LOG)
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 \
            -D_GNU_SOURCE -fno-strict-aliasing -I. -I$(OUT)
PKG_CFLAGS = $(shell pkg-config --cflags $(PC_LIBS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PC_LIBS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

LIB_SRCS := $(wildcard common/*.c ipc/*.c rcp/*.c supervisor/*.c workers/*.c printers/*.c \
		exporter/*.c)
LIB_SRCS := $(filter-out supervisor/main.c common/child_main.c,$(LIB_SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(OUT)/%.o) $(OUT)/recipes_builtin.o $(OUT)/bpf_names.o
TEST_SRCS := $(wildcard tests/check_*.c)
# tests/lib: processes, /proc, files, config text, time; the suites' agent
# harness and the bench program both link it (it needs neither Check nor the agent)
TLIB_OBJS := $(patsubst %.c,$(OUT)/%.o,$(wildcard tests/lib/*.c))
TEST_LIB_SRCS := $(filter-out $(TEST_SRCS),$(wildcard tests/*.c))
TEST_LIB_OBJS := $(TEST_LIB_SRCS:%.c=$(OUT)/%.o) $(TLIB_OBJS)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(OUT)/tests/%)
TEST_HELPERS := $(wildcard tests/helpers/*.c)
TEST_HELPER_BINS := $(TEST_HELPERS:tests/helpers/%.c=$(OUT)/tests/helpers/%)

.PHONY: all deps run check bench clean
# keep intermediate objects (test support code) between runs; a recipe that
# fails leaves no half-written target behind
.SECONDARY:
.DELETE_ON_ERROR:
all: $(OUT)/.deps $(OUT)/jibril

# --- Debian packages --------------------------------------------------------
# $(call install_missing,PACKAGES): installs those not yet installed (root),
# or prints the apt-get line and stops
define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:" $$missing; \
			(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing) \
				|| { echo "package install failed"; exit 1; }; \
		else \
			echo "missing packages; run as root:"; \
			echo "  apt-get install -y $$missing"; exit 1; \
		fi; \
	fi
endef
$(OUT)/.deps:
	@mkdir -p $(OUT)
	$(call install_missing,$(DEB_PKGS))
	@touch $@
deps: $(OUT)/.deps

# --- eBPF: vmlinux.h -> one CO-RE object -> skeleton ------------------------
$(OUT)/vmlinux.h: | $(OUT)/.deps
	@mkdir -p $(OUT)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(OUT)/jibril.bpf.o: bpf/jibril.bpf.c bpf/jibril.h $(wildcard bpf/*.bpf.h) $(OUT)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(OUT) -Ibpf -c $< -o $@

$(OUT)/jibril.skel.h: $(OUT)/jibril.bpf.o
	$(BPFTOOL) gen skeleton $< name jibril_bpf > $@.tmp && mv $@.tmp $@

# --- user space -------------------------------------------------------------
# header dependencies come from the compiler (-MMD -MP, included below)
$(OUT)/%.o: %.c | $(OUT)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# --- built-in recipes: recipes/<mechanism>/*.yaml -----------------------------
RECIPE_FILES := $(sort $(wildcard recipes/*/*.yaml))
# the list itself is a prerequisite, so removing a recipe rebuilds too
$(OUT)/recipes.list: FORCE | $(OUT)/.deps
	@echo '$(RECIPE_FILES)' | cmp -s - $@ || echo '$(RECIPE_FILES)' > $@
$(OUT)/recipes_builtin.c: recipes/embed.sh $(RECIPE_FILES) $(OUT)/recipes.list
	sh recipes/embed.sh $@ $(RECIPE_FILES)
$(OUT)/recipes_builtin.o: $(OUT)/recipes_builtin.c
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@
.PHONY: FORCE
FORCE:

# the loader includes the generated skeleton
$(OUT)/supervisor/loader.o: $(OUT)/jibril.skel.h

$(OUT)/jibril: $(OUT)/supervisor/main.o $(LIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# libbpf's names of the BPF types, for workers that do not link libbpf
# (bpf/names-gen.c; workers/bpfnames.h)
$(OUT)/bpf-names-gen: bpf/names-gen.c | $(OUT)/.deps
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(shell pkg-config --libs libbpf)
$(OUT)/bpf_names.c: $(OUT)/bpf-names-gen
	$< > $@.tmp && mv $@.tmp $@
$(OUT)/bpf_names.o: $(OUT)/bpf_names.c
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# --- the children: one executable per group of kinds (enum jb_bin, common/kind.h) ---
# Each is common/child_main.c, its own build of the kind table (kinds.c with
# -DJB_KINDS_<NAME>: only its rows name code, none the supervisor's hooks),
# the objects of the children's archive that this pulls in, and only its
# libraries: jibril-worker links no curl, a printer no pcre2, none libbpf
# (tests/check_install reads their NEEDED entries).
CHILD_NAMES := worker printer netprinter exporter
CHILD_BINS  := $(CHILD_NAMES:%=$(OUT)/jibril-%)
all: $(CHILD_BINS)
CHILD_ARCHIVE_OBJS := $(filter-out $(OUT)/supervisor/% $(OUT)/recipes_builtin.o,$(LIB_OBJS))
CHILD_PC            := libevent msgpack libseccomp jansson libcap-ng
CHILD_PC_worker     := $(CHILD_PC) libpcre2-8 yaml-0.1
CHILD_PC_printer    := $(CHILD_PC) libcrypto
CHILD_PC_netprinter := $(CHILD_PC) libcrypto libssl libcurl libnats
CHILD_PC_exporter   := $(CHILD_PC)
$(OUT)/children.a: $(CHILD_ARCHIVE_OBJS)
	rm -f $@ && $(AR) rcs $@ $^
CHILD_KINDS_OBJS := $(CHILD_NAMES:%=$(OUT)/supervisor/kinds-%.o)
$(CHILD_KINDS_OBJS): $(OUT)/supervisor/kinds-%.o: supervisor/kinds.c | $(OUT)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -DJB_KINDS_$$(echo $* | tr a-z A-Z) -MMD -MP -c $< -o $@
$(CHILD_BINS): $(OUT)/jibril-%: $(OUT)/common/child_main.o $(OUT)/supervisor/kinds-%.o \
		$(OUT)/children.a
	$(CC) $(CFLAGS) -o $@ $^ -Wl,--as-needed $(shell pkg-config --libs $(CHILD_PC_$*)) -lm

-include $(LIB_OBJS:.o=.d) $(OUT)/supervisor/main.d $(TEST_LIB_OBJS:.o=.d) $(TEST_BINS:=.d) \
	$(OUT)/common/child_main.d $(CHILD_KINDS_OBJS:.o=.d)

# --- run ----------------------------------------------------------------------
run: all
	@[ "$$(id -u)" = 0 ] || { echo "make run needs root (BPF)"; exit 1; }
	exec $(OUT)/jibril --config $(CONF)

# --- tests --------------------------------------------------------------------
$(OUT)/tests/check_%: tests/check_%.c $(LIB_OBJS) $(TEST_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests -MMD -MP -MF $@.d -o $@ $< $(TEST_LIB_OBJS) $(LIB_OBJS) \
		$(PKG_LIBS) $(CHECK_LIBS) -lm

$(OUT)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# an image whose only act is its exec: no libc, no loader (check_attribution)
$(OUT)/tests/helpers/exechop: tests/helpers/exechop.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -nostdlib -fno-stack-protector -o $@ $<

# check_install runs the agent under the unit's seccomp hardening with it
$(OUT)/tests/helpers/unitfilter: tests/helpers/unitfilter.c | $(OUT)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(shell pkg-config --libs libseccomp)

# the fake child of check_procs speaks the real IPC codec
$(OUT)/tests/helpers/fakechild: tests/helpers/fakechild.c $(OUT)/ipc/msg.o $(OUT)/common/text.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -MF $@.d -o $@ $< $(OUT)/ipc/msg.o \
		$(OUT)/common/text.o $(PKG_LIBS)

# --- benchmarks ----------------------------------------------------------------
# every bench/NAME.c is a one-file program, bench/NAME.bpf.c one BPF object;
# the harness build/bench/bench is bench/harness/*.c plus tests/lib
BENCH_BPF  := $(wildcard bench/*.bpf.c)
BENCH_SKELS := $(BENCH_BPF:bench/%.bpf.c=$(OUT)/bench/%.skel.h)
BENCH_TOOLS := $(filter-out $(BENCH_BPF),$(wildcard bench/*.c))
BENCH_TOOL_BINS := $(BENCH_TOOLS:bench/%.c=$(OUT)/bench/%)
BENCH_HARNESS_OBJS := $(patsubst %.c,$(OUT)/%.o,$(wildcard bench/harness/*.c))
BENCH_BINS := $(BENCH_TOOL_BINS) $(OUT)/bench/bench $(OUT)/bench/floor.bpf.o

$(OUT)/bench/%.bpf.o: bench/%.bpf.c bpf/jibril.h $(wildcard bpf/*.bpf.h) $(OUT)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(OUT) -Ibpf -c $< -o $@

# the floor: jibril's own programs with empty bodies (bench/floor-gen.sh)
$(OUT)/bench/floor.bpf.c: $(OUT)/jibril.bpf.o bench/floor-gen.sh
	@mkdir -p $(dir $@)
	sh bench/floor-gen.sh $< > $@.tmp && mv $@.tmp $@
$(OUT)/bench/floor.bpf.o: $(OUT)/bench/floor.bpf.c $(OUT)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -I$(OUT) -c $< -o $@

$(OUT)/bench/%.skel.h: $(OUT)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BENCH_TOOL_BINS): $(OUT)/bench/%: bench/%.c $(BENCH_SKELS) | $(OUT)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -I$(OUT)/bench -MMD -MP -MF $@.d -o $@ $< $(PKG_LIBS) \
		-lpthread -lm

$(OUT)/bench/bench: $(BENCH_HARNESS_OBJS) $(TLIB_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

-include $(BENCH_TOOL_BINS:=.d) $(BENCH_HARNESS_OBJS:.o=.d)

# section 6's real workloads and peers (bench/real/): nginx and ab, git, CPython's
# own test suite, auditd
BENCH_DEB_PKGS := nginx-light apache2-utils git libpython3.11-testsuite auditd
$(OUT)/.bench-deps: | $(OUT)/.deps
	$(call install_missing,$(BENCH_DEB_PKGS))
	@touch $@

bench: all $(BENCH_BINS) $(OUT)/.bench-deps
	@[ "$$(id -u)" = 0 ] || { echo "make bench needs root (BPF)"; exit 1; }
	JIBRIL_SRC=$(CURDIR) $(OUT)/bench/bench --jibril $(abspath $(OUT)/jibril) \
		--conf $(abspath $(CONF)) --bin-dir $(abspath $(OUT)/bench) --out bench/results.json

# section 6 alone: the real workloads (about 30 minutes)
.PHONY: bench-real
bench-real: all $(BENCH_BINS) $(OUT)/.bench-deps
	@[ "$$(id -u)" = 0 ] || { echo "make bench-real needs root (BPF)"; exit 1; }
	JIBRIL_SRC=$(CURDIR) $(OUT)/bench/bench --jibril $(abspath $(OUT)/jibril) \
		--conf $(abspath $(CONF)) --bin-dir $(abspath $(OUT)/bench) --sections 6 \
		--out bench/results-real.json

# what only the tests run: nats-server (JetStream) for check_nats; python3 and openssl for
# check_https's and check_summary's TLS servers (tests/helpers/https_server.py,
# openai_server.py) and their certificates; logrotate,
# which check_filerot runs for real; mandoc, which lints the man pages (check_install)
TEST_DEB_PKGS := nats-server python3 openssl logrotate mandoc
$(OUT)/.test-deps: Makefile | $(OUT)/.deps
	$(call install_missing,$(TEST_DEB_PKGS))
	@touch $@

check: all $(TEST_BINS) $(TEST_HELPER_BINS) $(BENCH_BINS) $(OUT)/.test-deps
	@JIBRIL_BIN=$(abspath $(OUT)/jibril) JIBRIL_SRC=$(CURDIR) JIBRIL_BENCH_DIR=$(abspath $(OUT)/bench) \
		tests/run-tests.sh $(TEST_BINS)

# --- chaos: random SIGKILL/SIGSTOP of the agent's children under real triggers ---
# `make check` runs tests/check_chaos.c for 60 s; this runs it for JB_CHAOS_SECONDS
# (default 300) and prints the same report, then again with the supervisor itself
# SIGKILLed every 20 s on average and restarted on its pins (JB_CHAOS_SUPERVISOR_S,
# which `make chaos-supervisor` runs alone) (root; the other JB_CHAOS_* knobs are
# described at the top of tests/check_chaos.c).
CHAOS_RUN = JIBRIL_BIN=$(abspath $(OUT)/jibril) JIBRIL_SRC=$(CURDIR) \
	JB_CHAOS_SECONDS=$${JB_CHAOS_SECONDS:-300} $(OUT)/tests/check_chaos
.PHONY: chaos chaos-supervisor
chaos: all $(OUT)/tests/check_chaos $(OUT)/tests/helpers/tcpconn
	@[ "$$(id -u)" = 0 ] || { echo "make chaos needs root (BPF)"; exit 1; }
	JB_CHAOS_SUPERVISOR_S=0 $(CHAOS_RUN)
	JB_CHAOS_SUPERVISOR_S=20 $(CHAOS_RUN)
chaos-supervisor: all $(OUT)/tests/check_chaos $(OUT)/tests/helpers/tcpconn
	@[ "$$(id -u)" = 0 ] || { echo "make chaos-supervisor needs root (BPF)"; exit 1; }
	JB_CHAOS_SUPERVISOR_S=$${JB_CHAOS_SUPERVISOR_S:-20} $(CHAOS_RUN)

# --- every header compiles on its own (and twice: its include guard) ---------
# bpf/*.bpf.h are kernel-side (vmlinux.h, BPF target) and are left out.
HEADERS := $(sort $(wildcard common/*.h ipc/*.h rcp/*.h supervisor/*.h workers/*.h \
		printers/*.h exporter/*.h tests/*.h tests/*/*.h fuzz/*.h)) bpf/jibril.h
.PHONY: check-headers
check-headers: | $(OUT)/.deps
	@bad=; for h in $(HEADERS); do \
		printf '#include "%s"\n#include "%s"\n' $$h $$h | \
		$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests -Werror -fsyntax-only -x c - || bad="$$bad $$h"; \
	done; \
	if [ -n "$$bad" ]; then echo "headers that do not compile on their own:$$bad"; exit 1; fi; \
	echo "headers: $(words $(HEADERS)) compile on their own"
check: check-headers

# --- fuzzing: one libFuzzer harness per parser of outside input ---------------
# make fuzz       build build/fuzz/fuzz_NAME from fuzz/fuzz_NAME.c (clang, libFuzzer,
#                 ASan, UBSan; any UB aborts)
# make fuzz-run   (part of make check) run each for FUZZ_SECONDS from a copy of
#                 fuzz/corpus/NAME/ with fuzz/NAME.dict; a crash, leak or timeout
#                 fails, and its input is kept in build/fuzz/artifacts/fuzz_NAME/
# make fuzz-corpus  regenerate the generated seeds (fuzz/corpus/ipc, snapshot, audit)
FUZZ_SECONDS ?= 15
# clang's libFuzzer and sanitizer runtimes (a Recommends of clang, so not always there)
DEB_PKGS += libclang-rt-dev
# re-check the package list when this file changes (a stamp would hide a new package)
$(OUT)/.deps: Makefile
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	       -Wno-missing-field-initializers -D_GNU_SOURCE \
	       -fno-strict-aliasing -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=all -I. -I$(OUT)
FUZZ_NAMES := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
# what the harnesses share (fuzz/broken.c: the report of a broken property)
FUZZ_COMMON := $(patsubst %.c,$(OUT)/fuzz-obj/%.o,$(filter-out $(wildcard fuzz/fuzz_*.c) \
		fuzz/mkcorpus.c,$(wildcard fuzz/*.c)))
FUZZ_BINS := $(FUZZ_NAMES:%=$(OUT)/fuzz/%)
fuzz_objs = $(patsubst %.c,$(OUT)/fuzz-obj/%.o,$(1))

# every harness links the whole library, built again with the sanitizers:
# the parsers read the real kind table (supervisor/kinds.c), which names
# every kind's code, and a harness must not restate it
FUZZ_LIB := $(call fuzz_objs,$(LIB_SRCS) $(OUT)/recipes_builtin.c $(OUT)/bpf_names.c)
$(FUZZ_BINS): $(FUZZ_LIB) $(FUZZ_COMMON)
$(OUT)/fuzz-obj/supervisor/loader.o: $(OUT)/jibril.skel.h

$(OUT)/fuzz-obj/%.o: %.c | $(OUT)/.deps
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -MMD -MP -c $< -o $@
$(OUT)/fuzz/%: $(OUT)/fuzz-obj/fuzz/%.o
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm
-include $(wildcard $(OUT)/fuzz-obj/*/*.d $(OUT)/fuzz-obj/*/*/*.d)

.PHONY: fuzz fuzz-run fuzz-corpus
fuzz: $(FUZZ_BINS)
# the binary seeds (IPC messages, snapshot regions) from the real encoders and writer
$(OUT)/fuzz/mkcorpus: fuzz/mkcorpus.c $(OUT)/ipc/msg.o $(OUT)/ipc/snapshot.o \
		$(OUT)/supervisor/audit_chain.o $(OUT)/common/text.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $^ $(PKG_LIBS)
fuzz-corpus: $(OUT)/fuzz/mkcorpus
	@mkdir -p fuzz/corpus/ipc fuzz/corpus/snapshot fuzz/corpus/audit
	$(OUT)/fuzz/mkcorpus fuzz/corpus
# clang without its fuzzer runtime (libclang-rt-dev) is a SKIP with the
# reason, never a silent pass; once it links, a harness that fails to build fails
fuzz-run: | $(OUT)/.deps
	@if ! fuzz/run.sh --probe $(CLANG); then exit 0; fi; \
	$(MAKE) --no-print-directory fuzz && \
	fuzz/run.sh --seconds $(FUZZ_SECONDS) --bin-dir $(OUT)/fuzz $(FUZZ_NAMES)
check: fuzz-run

clean:
	rm -rf $(OUT)

# --- install: the binaries, the systemd unit, the configuration, man pages ------
#   make install [DESTDIR=/staging] [PREFIX=/usr/local]     (root)
#   make uninstall (same variables)
# GNU/Debian layout: the daemon in $(PREFIX)/sbin, its children in
# $(PREFIX)/libexec/jibril, pages in $(PREFIX)/share/man,
# the unit in $(PREFIX)/lib/systemd/system (systemd reads /usr/local/lib too),
# and configuration in /etc whatever the prefix (the binary's default is
# /etc/jibril/jibril.conf). An existing jibril.conf is never overwritten: the
# new one goes next to it as jibril.conf.dist.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
# the children's executables: ../libexec/jibril from the daemon's directory,
# where it looks for them (supervisor/bins.c); not a variable of its own
LIBEXECDIR := $(patsubst %/,%,$(dir $(SBINDIR)))/libexec/jibril
SYSCONFDIR ?= /etc
INSTALL    ?= install
# root's files when run as root (or under fakeroot): the agent refuses a
# configuration or a recipe directory of another owner
INSTALL_OWN := $(if $(filter 0,$(shell id -u)),-o root -g root)
CONFDIR := $(DESTDIR)$(SYSCONFDIR)/jibril
SUBST := sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: install uninstall
# remade each time: they follow the variables of this invocation
$(OUT)/install/jibril.service: contrib/systemd/jibril.service FORCE
	@mkdir -p $(dir $@)
	$(SUBST) $< > $@.tmp && mv $@.tmp $@
$(OUT)/install/jibril.conf: jibril.conf contrib/jibril.conf.install.sed FORCE
	@mkdir -p $(dir $@)
	$(SUBST) contrib/jibril.conf.install.sed > $@.sed
	sed -f $@.sed jibril.conf > $@.tmp && rm -f $@.sed && mv $@.tmp $@

install: $(OUT)/jibril $(CHILD_BINS) $(OUT)/install/jibril.service $(OUT)/install/jibril.conf
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) $(INSTALL_OWN) -m 0755 $(OUT)/jibril $(DESTDIR)$(SBINDIR)/jibril
	@# the children run as root until they drop: root's, written by no one else
	$(INSTALL) $(INSTALL_OWN) -m 0755 $(CHILD_BINS) $(DESTDIR)$(LIBEXECDIR)/
	$(INSTALL) $(INSTALL_OWN) -m 0644 $(OUT)/install/jibril.service $(DESTDIR)$(UNITDIR)/jibril.service
	$(INSTALL) $(INSTALL_OWN) -m 0644 man/jibril.8 $(DESTDIR)$(MANDIR)/man8/jibril.8
	$(INSTALL) $(INSTALL_OWN) -m 0644 man/jibril.conf.5 $(DESTDIR)$(MANDIR)/man5/jibril.conf.5
	$(INSTALL) $(INSTALL_OWN) -m 0644 contrib/logrotate/jibril $(DESTDIR)$(SYSCONFDIR)/logrotate.d/jibril
	@# root's, and no one else may read them: recipes are detection logic
	$(INSTALL) $(INSTALL_OWN) -d -m 0700 $(CONFDIR) $(CONFDIR)/recipes
	@if [ -e $(CONFDIR)/jibril.conf ]; then \
		echo "$(INSTALL) $(INSTALL_OWN) -m 0600 $(OUT)/install/jibril.conf $(CONFDIR)/jibril.conf.dist"; \
		$(INSTALL) $(INSTALL_OWN) -m 0600 $(OUT)/install/jibril.conf $(CONFDIR)/jibril.conf.dist && \
		echo "kept the existing $(CONFDIR)/jibril.conf; the new one is jibril.conf.dist"; \
	else \
		echo "$(INSTALL) $(INSTALL_OWN) -m 0600 $(OUT)/install/jibril.conf $(CONFDIR)/jibril.conf"; \
		$(INSTALL) $(INSTALL_OWN) -m 0600 $(OUT)/install/jibril.conf $(CONFDIR)/jibril.conf; \
	fi
	@[ -n "$(DESTDIR)" ] || echo "installed; now: systemctl daemon-reload && systemctl enable --now jibril"

# what install put there; an edited jibril.conf, local recipes, the logs,
# spools and audit key (/var/log/jibril, /var/lib/jibril) stay. The kernel
# side of a stopped agent stays pinned until `jibril --unload`: run it first.
uninstall: $(OUT)/install/jibril.conf
	rm -f $(DESTDIR)$(SBINDIR)/jibril $(CHILD_NAMES:%=$(DESTDIR)$(LIBEXECDIR)/jibril-%) \
		$(DESTDIR)$(UNITDIR)/jibril.service \
		$(DESTDIR)$(MANDIR)/man8/jibril.8 $(DESTDIR)$(MANDIR)/man5/jibril.conf.5 \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d/jibril $(CONFDIR)/jibril.conf.dist
	@if cmp -s $(OUT)/install/jibril.conf $(CONFDIR)/jibril.conf; then \
		echo "rm -f $(CONFDIR)/jibril.conf"; rm -f $(CONFDIR)/jibril.conf; \
	elif [ -e $(CONFDIR)/jibril.conf ]; then echo "kept $(CONFDIR)/jibril.conf (edited)"; fi
	@rmdir $(CONFDIR)/recipes 2>/dev/null || [ ! -d $(CONFDIR)/recipes ] || \
		echo "kept $(CONFDIR)/recipes (not empty)"
	@rmdir $(CONFDIR) 2>/dev/null || true
	@rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
