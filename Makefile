# portwatch - eBPF port-reuse monitor.
#
#   make deps    install the Debian packages the build, run and tests need
#   make         build build/portwatchd and build/portwatchctl
#   make run     deps + build, then portwatchd in the foreground, built-in defaults
#   make check-layers  no include or call cycles between modules, the client
#                uses include/ only, control requests drain no ring, enter no
#                namespace, mutate no table (tests/layers.py, docs/architecture.md)
#   make test    deps + build, unit tests, layers, end-to-end tests (plain, with the
#                probe-read programs, with ASan+UBSan), the kernel matrix,
#                the Debian package, bench smoke (as root; about 12 minutes)
#   make test-kernels  portwatchd on Debian 12's 6.1 and 6.12 kernels in qemu (~2 min)
#   make bench   the benchmarks (bench/run.py, ~6 min): table + build/bench/summary.json
#   make deb     build/deb/portwatch_VERSION_ARCH.deb with dpkg-buildpackage
#                (debian/), from a clean copy of the checkout (no build/)
#   make test-package  make deb, lintian, dpkg -i, check, dpkg --purge, check
#                nothing is left (as root; tests/package/run.sh)
#   make install   binaries, systemd units, sysusers, journal catalog, man pages, example config,
#                  bash completion (DESTDIR, PREFIX=/usr/local, SYSCONFDIR=/etc)
#   make uninstall remove what install put there (not /etc/portwatch)
#   make fuzz-rules SEED=N OPS=N  the rule engine against the kernel, longer
#   make replay-rules DUMP=FILE   a failed differential run again, exactly
#   make vmlinux regenerate bpf/vmlinux.h from VMLINUX_BTF
#   V=1          show the full commands
#
# Everything generated goes under build/. Header dependencies are tracked
# with -MMD -MP for the BPF objects as well as the userspace ones.

# The one list of Debian packages: the README and .ci/run both use `make deps`.
DEPS_PKGS := make clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	libjson-c-dev libmnl-dev libnftables-dev libsystemd-dev libinih-dev libcmocka-dev \
	python3 python3-pytest nftables iptables \
	rsyslog iproute2 procps util-linux systemd mandoc man-db strace \
	bpftrace auditd qemu-system-x86 busybox-static cpio tcpdump \
	debhelper dpkg-dev lintian

BUILD    ?= build
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PYTHON   := /usr/bin/python3
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
# `make deps APT_UPDATE=:` when the caller (.ci/run) has just run apt-get update.
APT_UPDATE ?= apt-get update -qq
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat-security -Wimplicit-fallthrough \
	-Wno-format-truncation # fixed-size message buffers truncate on purpose
PKGS     := libbpf json-c libmnl libsystemd inih libnftables
CFLAGS   ?= -O2 -g
# CPPFLAGS and LDFLAGS are the caller's (empty here; in the package build
# dpkg-buildflags' hardening: _FORTIFY_SOURCE, relro, bindnow) and go on every
# compile and link of ours.
# SANITIZE: extra compiler flags, e.g. the sanitizers of `make test-sanitize`
CFLAGS   += $(SANITIZE) -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -Iinclude \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += -Wl,--as-needed $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz
# The daemon sees its own headers and the generated skeletons; the client
# (cli/) sees cli/ and include/ only, and links json-c alone.
DAEMON_INC := -Idaemon -I$(BUILD)
CLI_INC    := -Icli
CLI_LDLIBS := -Wl,--as-needed $(shell pkg-config --libs json-c 2>/dev/null)
# BPF_DEFS: extra -D flags of the BPF objects (the floor build below)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf \
	$(BPF_DEFS)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
MAINS     := daemon/portwatchd.c cli/portwatchctl.c
LIB_SRCS  := $(filter-out $(MAINS),$(wildcard daemon/*.c))
LIB_OBJS  := $(patsubst daemon/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libportwatch.a
CLI_SRCS  := $(filter-out $(MAINS),$(wildcard cli/*.c))
CLI_OBJS  := $(patsubst cli/%.c,$(BUILD)/cli/%.o,$(CLI_SRCS))
BINS      := $(BUILD)/portwatchd $(BUILD)/portwatchctl
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# tests/unit/test_MODULE.c of a client module cli/MODULE.c
CLI_UNIT_BINS := $(patsubst cli/%.c,$(BUILD)/tests/test_%,\
	$(filter $(patsubst tests/unit/test_%.c,cli/%.c,$(UNIT_SRCS)),$(CLI_SRCS)))
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
# What the end-to-end tests load themselves: BPF objects of tests/bpf/*.bpf.c
# (the daemon's BPF flags) and the helper programs that attach them.
E2E_BPF_OBJS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/bpf/%.bpf.o,$(wildcard tests/bpf/*.bpf.c))
E2E_HELPERS := $(E2E_BPF_OBJS) $(BUILD)/tests/bpf/sklookup_attach
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all deps run test test-kernels deb test-package test-sanitize unit check-layers bpf-test e2e e2e-probe-read fuzz-rules replay-rules bench bench-smoke floor vmlinux clean install uninstall \
	man-lint

# Installation layout. Units go where systemd looks for PREFIX's units; the
# sysusers file goes to /usr/lib/sysusers.d only for PREFIX=/usr, to
# SYSCONFDIR/sysusers.d otherwise (systemd-sysusers reads no /usr/local).
PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
SBINDIR     ?= $(PREFIX)/sbin
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
# bash-completion looks in PREFIX/share/bash-completion/completions for a
# command found in PREFIX/bin (and in every XDG_DATA_DIRS entry):
# /usr/share/bash-completion/completions for PREFIX=/usr.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/sysusers.d,$(SYSCONFDIR)/sysusers.d)
# journalctl reads only /usr/lib/systemd/catalog: there for /usr and /usr/local, under
# any other PREFIX (a staging tree, a test) beside the rest, never outside it
CATALOGDIR  ?= $(if $(filter /usr /usr/local,$(PREFIX)),/usr/lib/systemd/catalog,$(PREFIX)/lib/systemd/catalog)
# The daemon reads /etc/portwatch/portwatch.conf unless told otherwise, and a
# missing default file means built-in defaults (a missing --config is an error).
CONFIG_SED  := $(if $(filter /etc,$(SYSCONFDIR)),s| @CONFIG_ARG@||,s|@CONFIG_ARG@|--config $(SYSCONFDIR)/portwatch/portwatch.conf|)
MANPAGES    := docs/portwatchd.8 docs/portwatchctl.1 docs/portwatch.conf.5
INSTALLED   := $(SBINDIR)/portwatchd $(BINDIR)/portwatchctl $(UNITDIR)/portwatchd.service \
	$(UNITDIR)/portwatchd.socket $(SYSUSERSDIR)/portwatch.conf $(CATALOGDIR)/portwatch.catalog \
	$(MANDIR)/man8/portwatchd.8 $(MANDIR)/man1/portwatchctl.1 $(MANDIR)/man5/portwatch.conf.5 \
	$(SYSCONFDIR)/portwatch/portwatch.conf.example $(BASHCOMPDIR)/portwatchctl
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BINS)

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || \
		missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "make deps: installing$$missing"; \
		$(APT_UPDATE) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "make deps: all packages present"; fi

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c Makefile
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/obj/%.o: daemon/%.c Makefile | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DAEMON_INC) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/portwatchd: $(BUILD)/obj/portwatchd.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The client: its own objects, nothing of the daemon's library.
$(BUILD)/cli/%.o: cli/%.c Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(CLI_INC) -MMD -MP -c $< -o $@

$(BUILD)/portwatchctl: $(BUILD)/cli/portwatchctl.o $(CLI_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CLI_LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DAEMON_INC) -MMD -MP $< $(LIB) $(LDLIBS) -lcmocka -o $@

# Unit tests of the client's modules link the client's objects.
$(CLI_UNIT_BINS): $(BUILD)/tests/%: tests/unit/%.c $(CLI_OBJS) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(CLI_INC) -MMD -MP $< $(CLI_OBJS) $(CLI_LDLIBS) -lcmocka -o $@

$(BUILD)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c Makefile
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(LIB) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DAEMON_INC) -MMD -MP $< $(LIB) $(LDLIBS) -lcmocka -o $@

# Workers of the benchmarks: plain C, no library of ours.
$(BUILD)/bench/%: bench/%.c Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -MMD -MP $< -o $@

run: deps all
	$(BUILD)/portwatchd --foreground

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

# The layering of docs/architecture.md, read from the sources' #include
# lines and the objects' symbols; the checker's self-test runs first.
check-layers: all
	$(PYTHON) tests/test_layers_selftest.py
	$(PYTHON) tests/layers.py $(BUILD)

# The real BPF programs against real sockets in a fresh netns (root).
bpf-test: $(BPFT_BINS)
	@fail=0; for t in $(BPFT_BINS); do $$t || fail=1; done; exit $$fail

e2e: all $(E2E_HELPERS)
	$(PYTHON) -m pytest -v tests/e2e

# The end-to-end suite once more against portwatchd and portwatchctl built
# with AddressSanitizer and UBSan (build/sanitize): a memory error or
# undefined behaviour anywhere fails the run (tests/e2e/conftest.py reads
# the daemon's log). Leak checks are off: libbpf and json-c keep caches.
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
test-sanitize: deps
	$(MAKE) BUILD=$(BUILD)/sanitize SANITIZE="$(SANITIZE_FLAGS)" \
		$(BUILD)/sanitize/portwatchd $(BUILD)/sanitize/portwatchctl \
		$(patsubst $(BUILD)/%,$(BUILD)/sanitize/%,$(E2E_HELPERS))
	PW_BUILD=$(abspath $(BUILD))/sanitize ASAN_OPTIONS=detect_leaks=0 \
		UBSAN_OPTIONS=print_stacktrace=1 $(PYTHON) -m pytest -v tests/e2e

# The same suites with the probe-read programs (kernels before 6.2) forced
# on this kernel: tests/e2e/test_variants.py.
E2E_PROBE_READ := tests/e2e/test_variants.py tests/e2e/test_alerts.py tests/e2e/test_owners.py \
	tests/e2e/test_conflicts.py tests/e2e/test_autobind.py
e2e-probe-read: all
	PORTWATCH_PROBE_READ=1 $(PYTHON) -m pytest -v $(E2E_PROBE_READ)

# The differential test of tests/e2e/test_differential.py with another seed
# and length: OPS bind/listen/connect calls, each predicted by portwatchd's
# `check` and compared with the kernel's answer (make test: four fixed seeds
# of 2,500). A failing run leaves build/difftest-SEED.json; `make
# replay-rules DUMP=that-file` runs it again with the kernel's port choices
# pinned to the recorded ones.
SEED ?= 20261123
OPS  ?= 50000
fuzz-rules: all
	PW_DIFF_SEED=$(SEED) PW_DIFF_OPS=$(OPS) $(PYTHON) -m pytest -v -s \
		tests/e2e/test_differential.py

replay-rules: all
	@test -n "$(DUMP)" || { echo "make replay-rules DUMP=build/difftest-SEED.json" >&2; exit 2; }
	PW_DIFF_REPLAY=$(abspath $(DUMP)) $(PYTHON) -m pytest -v -s tests/e2e/test_differential.py

test: deps
	$(MAKE) all $(UNIT_BINS) $(BPFT_BINS) $(BENCH_BINS) $(E2E_HELPERS)
	$(MAKE) unit
	$(MAKE) check-layers
	$(MAKE) bpf-test
	$(MAKE) e2e
	$(MAKE) e2e-probe-read
	$(MAKE) test-sanitize
	$(MAKE) test-kernels
	$(MAKE) test-package
	$(MAKE) bench-smoke

# The kernel matrix (tests/kernels/README.md): Debian 12's 6.1 and 6.12
# kernels booted in qemu (TCG), portwatchd and ten checks inside each.
test-kernels: deps all
	tests/kernels/run.sh 6.1 6.12

# Figures, never pass/fail on time: bare vs portwatchd vs bpftrace vs auditd
# in alternating rounds; see bench/run.py and docs/PERFORMANCE.md.
# The floor and the minimal reporter (bench/run.py's "floor" and "minimal"
# subjects): the daemon whose programs are attached where the real ones are
# and return at once, or send one bare record per bind, listen and release
# (PW_FLOOR in bpf/portwatch.bpf.c), each in a build directory of its own.
# Sub-makes, so that they rebuild whatever changed, as test-sanitize does.
floor:
	$(MAKE) BUILD=$(BUILD)/floor BPF_DEFS=-DPW_FLOOR=1 $(BUILD)/floor/portwatchd
	$(MAKE) BUILD=$(BUILD)/minimal BPF_DEFS=-DPW_FLOOR=2 $(BUILD)/minimal/portwatchd

bench: all $(BENCH_BINS) floor
	$(PYTHON) bench/run.py

# The harness at tiny sizes (< 1 min): every key of the summary, sane values.
bench-smoke: all $(BENCH_BINS) floor
	$(PYTHON) bench/run.py --smoke
	$(PYTHON) bench/run.py --check $(BUILD)/bench-smoke/summary.json

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/portwatch $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/portwatchd $(DESTDIR)$(SBINDIR)/portwatchd
	install -m 0755 $(BUILD)/portwatchctl $(DESTDIR)$(BINDIR)/portwatchctl
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e '$(CONFIG_SED)' \
		systemd/portwatchd.service.in > $(DESTDIR)$(UNITDIR)/portwatchd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/portwatchd.service
	install -m 0644 systemd/portwatchd.socket $(DESTDIR)$(UNITDIR)/portwatchd.socket
	install -m 0644 systemd/portwatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/portwatch.conf
	install -m 0644 systemd/portwatch.catalog $(DESTDIR)$(CATALOGDIR)/portwatch.catalog
	install -m 0644 docs/portwatchd.8 $(DESTDIR)$(MANDIR)/man8/portwatchd.8
	install -m 0644 docs/portwatchctl.1 $(DESTDIR)$(MANDIR)/man1/portwatchctl.1
	install -m 0644 docs/portwatch.conf.5 $(DESTDIR)$(MANDIR)/man5/portwatch.conf.5
	install -m 0644 cli/portwatchctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/portwatchctl
	install -m 0644 docs/portwatch.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/portwatch/portwatch.conf.example
	@# the example becomes the configuration only where there is none yet
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/portwatch/portwatch.conf ]; then \
		echo "kept the existing $(DESTDIR)$(SYSCONFDIR)/portwatch/portwatch.conf"; \
	else install -m 0644 docs/portwatch.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/portwatch/portwatch.conf; fi
	@echo "installed. Next: systemd-sysusers; journalctl --update-catalog;" \
		"systemctl daemon-reload;" \
		"systemctl enable --now portwatchd.socket portwatchd.service"

# The Debian package (debian/; Debian 12's debhelper, no fakeroot: the rules
# need no root). Built from a clean copy of the checkout as it is, minus what
# .gitignore ignores (`git ls-files`: uncommitted edits and new files in, build/
# out), so nothing this checkout built leaks in: the package build compiles
# the BPF programs and skeletons itself. Its version is PW_RELEASE, which
# debian/changelog must match.
VERSION  := $(shell sed -n 's/^\#define PW_RELEASE "\(.*\)"/\1/p' include/portwatch/proto.h)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_DIR  := $(BUILD)/deb
DEB      := $(DEB_DIR)/portwatch_$(VERSION)_$(DEB_ARCH).deb

deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
		{ echo "make deb: needs dpkg-dev and debhelper: make deps (as root)" >&2; exit 1; }
	@v=$$(dpkg-parsechangelog -S Version) && [ "$$v" = "$(VERSION)" ] || \
		{ echo "make deb: debian/changelog is at $$v but PW_RELEASE" \
			"(include/portwatch/proto.h) at $(VERSION):" \
			"add a debian/changelog entry for $(VERSION)" >&2; exit 1; }
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || \
		{ echo "make deb: needs a git checkout (git ls-files says what to package)" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/portwatch-$(VERSION)
	git ls-files -z --cached --others --exclude-standard | \
		tar -c --null -T - --ignore-failed-read | tar -x -C $(DEB_DIR)/portwatch-$(VERSION)
	cd $(DEB_DIR)/portwatch-$(VERSION) && dpkg-buildpackage -b -us -uc -Jauto
	@echo "make deb: $(DEB)"

# deb after deps, never beside it under -j: it needs debhelper installed.
test-package: deps
	$(MAKE) deb
	tests/package/run.sh $(DEB)

# The configuration (SYSCONFDIR/portwatch/portwatch.conf) is the admin's: kept.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(SYSCONFDIR)/portwatch 2>/dev/null

# The man pages, checked as the man(1) of this system reads them.
man-lint:
	@for m in $(MANPAGES); do mandoc -T lint -W warning $$m || exit 1; done; \
		echo "man-lint: $(MANPAGES) clean"

vmlinux:
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > bpf/vmlinux.h

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/cli/*.d $(BUILD)/bpf/*.d $(BUILD)/tests/*.d $(BUILD)/tests/bpf/*.d \
	$(BUILD)/bench/*.d)
