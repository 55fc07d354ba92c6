# duvisor: one non-recursive Makefile. `make help` lists the targets.
ifeq ($(origin CC),default)
CC      := gcc
endif
# Release flags; `make test` adds a sanitizer build and a clang build of its own.
CSTD    := -std=c17 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT     ?= -O2 -g
CFLAGS  ?=
# libfdt ships no pkg-config file on Debian; libslirp does.
PKGCFLAGS := $(shell pkg-config --cflags slirp 2>/dev/null)
PKGLIBS   := -lfdt $(shell pkg-config --libs slirp 2>/dev/null || echo -lslirp) -lmicrohttpd -ljansson
ALLCFLAGS = $(CSTD) $(WARN) $(OPT) $(CFLAGS) -Isrc $(PKGCFLAGS) -MMD -MP
LDLIBS  := $(PKGLIBS) -lm -lpthread

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# Build flavours share sources; each lives in its own output directory.
B       ?= build
SRCS    := $(sort $(shell find src -name '*.c'))
LIBSRCS := $(filter-out src/main.c,$(SRCS))
UNIT_TESTS := $(sort $(wildcard tests/unit/test_*.c))

objs = $(patsubst %.c,$(1)/obj/%.o,$(2))

.PHONY: all setup guest run run-qemu test unit format format-check clean help
all: $(B)/duvisor

help:
	@echo "make run        build duvisor and the guest, boot the demo VM"
	@echo "make test       everything CI runs: builds, unit, sanitizer, guest boot tests"
	@echo "make guest      build (or reuse from cache) the riscv64 Linux guest"
	@echo "make run-qemu   boot the same guest under qemu-system-riscv64 (the reference)"
	@echo "make format     clang-format the tree in place"

setup:
	@bash scripts/setup

# --- the hypervisor binary --------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c -o $@ $<

# The FPU must see the guest's rounding mode, so the compiler may not fold or
# reorder floating-point operations across fesetround there.
$(B)/obj/src/hart/fpu.o: ALLCFLAGS += -frounding-math
# On x86-64, drive the SSE control register directly: fenv.h costs ~10x more per operation.
ifeq ($(shell uname -m),x86_64)
$(B)/obj/src/hart/fpu.o: ALLCFLAGS += -DFPU_HOST_X86_MXCSR
endif
$(B)/obj/src/cli/version.o: ALLCFLAGS += -DDUVISOR_VERSION='"$(VERSION)"'

$(B)/libduvisor.a: $(call objs,$(B),$(LIBSRCS))
	@rm -f $@
	ar rcs $@ $^

$(B)/duvisor: $(call objs,$(B),src/main.c) $(B)/libduvisor.a
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# --- unit tests: one cmocka binary per tests/unit/test_*.c --------------------------
TEST_SUPPORT := $(wildcard tests/unit/support/*.c)
$(B)/tests/%: tests/unit/%.c $(TEST_SUPPORT) $(wildcard tests/unit/support/*.h) $(B)/libduvisor.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/unit -frounding-math -o $@ $< $(TEST_SUPPORT) $(B)/libduvisor.a $(LDFLAGS) $(LDLIBS) -lcmocka
$(B)/tests/test_jit_x86: LDLIBS += -lcapstone

# Guest test images (riscv64 assembly run by the hart) have their own rules.
-include tests/guest/guest.mk
# Benchmarks (never part of `make test`).
-include bench/bench.mk

unit: $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_TESTS))

# --- guest, run, test -------------------------------------------------------------
guest: setup
	@bash scripts/build-guest

run: setup $(B)/duvisor
	@bash scripts/run-demo $(B)/duvisor

run-qemu: setup
	@bash scripts/run-demo --qemu

test: setup
	@bash tests/run

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h src/*/*/*.h tests/unit/*.c tests/unit/support/*.[ch])

format-check:
	@clang-format --dry-run --Werror $(SRCS) $(wildcard src/*/*.h src/*/*/*.h tests/unit/*.c tests/unit/support/*.[ch])

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
