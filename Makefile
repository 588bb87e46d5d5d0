# portwatch - eBPF port-reuse monitor.
#
#   make deps    install the Debian packages the build, run and tests need
#   make         build build/portwatchd and build/portwatchctl
#   make run     deps + build, then portwatchd in the foreground, built-in defaults
#   make test    deps + build, unit tests, end-to-end tests (as root)
#   make fuzz-rules SEED=N OPS=N  the rule engine against the kernel, longer
#   make vmlinux regenerate bpf/vmlinux.h from VMLINUX_BTF
#   V=1          show the full commands
#
# Everything generated goes under build/. Header dependencies are tracked
# with -MMD -MP for the BPF objects as well as the userspace ones.

# The one list of Debian packages: the README and .ci/run both use `make deps`.
DEPS_PKGS := make clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	libjson-c-dev libmnl-dev libcmocka-dev python3 python3-pytest rsyslog iproute2 \
	procps util-linux

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
PKGS     := libbpf json-c libmnl
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -Iinclude -Idaemon -I$(BUILD) \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += -Wl,--as-needed $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf

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
MAINS     := daemon/portwatchd.c daemon/portwatchctl.c
LIB_SRCS  := $(filter-out $(MAINS),$(wildcard daemon/*.c))
LIB_OBJS  := $(patsubst daemon/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libportwatch.a
BINS      := $(BUILD)/portwatchd $(BUILD)/portwatchctl
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))

.PHONY: all deps run test unit bpf-test e2e fuzz-rules vmlinux clean
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
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/portwatchd $(BUILD)/portwatchctl: $(BUILD)/%: $(BUILD)/obj/%.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(LIB) $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(LIB) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(LIB) $(LDLIBS) -lcmocka -o $@

run: deps all
	$(BUILD)/portwatchd --foreground

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

# The real BPF programs against real sockets in a fresh netns (root).
bpf-test: $(BPFT_BINS)
	@fail=0; for t in $(BPFT_BINS); do $$t || fail=1; done; exit $$fail

e2e: all
	$(PYTHON) -m pytest -v tests/e2e

# The differential test of tests/e2e/test_differential.py with another seed
# and length: OPS bind/listen/connect calls, each predicted by portwatchd's
# `check` and compared with the kernel's answer (make test: 5000, fixed seed).
SEED ?= 20261123
OPS  ?= 50000
fuzz-rules: all
	PW_DIFF_SEED=$(SEED) PW_DIFF_OPS=$(OPS) $(PYTHON) -m pytest -v -s \
		tests/e2e/test_differential.py

test: deps
	$(MAKE) all $(UNIT_BINS) $(BPFT_BINS)
	$(MAKE) unit
	$(MAKE) bpf-test
	$(MAKE) e2e

vmlinux:
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > bpf/vmlinux.h

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/bpf/*.d $(BUILD)/tests/*.d $(BUILD)/tests/bpf/*.d)
