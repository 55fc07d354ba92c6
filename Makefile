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
PKGLIBS   := -lfdt $(shell pkg-config --libs slirp 2>/dev/null || echo -lslirp) -lmicrohttpd -ljansson -lseccomp
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
	@echo "make bench      duvisor against QEMU (BENCHMARKS.md); make bench-hart: the hart alone"
	@echo "make fuzz       every parser under libFuzzer (FUZZ_TIME=seconds, default 60; FUZZ_TARGET=name)"

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
-include tests/vector/vector.mk
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
	clang-format -i $(SRCS) $(wildcard src/*/*.h src/*/*/*.h tests/unit/*.c tests/unit/support/*.[ch] tests/e2e/payloads/*.c)

format-check:
	@clang-format --dry-run --Werror $(SRCS) $(wildcard src/*/*.h src/*/*/*.h tests/unit/*.c tests/unit/support/*.[ch] tests/e2e/payloads/*.c)

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# --- fuzz: duvisor's parsers under libFuzzer (clang; `make test` runs each for seconds) -------
# `make fuzz [FUZZ_TARGET=name ...] [FUZZ_TIME=seconds] [FUZZ_ARGS=...]`: the library built with
# coverage, ASan and UBSan in build/fuzz, then FUZZ_TIME seconds of fuzzing for each target of
# FUZZ_TARGET (default: all of FUZZ_TARGETS, one after the other), harness
# tests/fuzz/fuzz_<name>.c, binary build/fuzz/fuzz_<name>:
#   api          the control API's router; its seed corpus of valid requests is written by the
#                harness itself (DUVISOR_FUZZ_WRITE_CORPUS)
#   decode       the instruction decoder and the hutinst transform (src/hart/decode.c)
#   mmio_decode  hutinst -> MMIO access (src/vmm/mmio.c)
#   virtqueue    split virtqueues through the virtio-mmio transport (src/devices/)
#   virtio_devices  each virtio device's requests through the transport, as a driver makes
#                them (src/devices/: blk on a memfd image, net on a frame socket, console,
#                rng, input): what each writes into guest RAM, used lengths, answers, the
#                image; then a clean reset and well-formed requests must still work
#   hart         the JIT against the interpreter (src/hart/) on short programs made from
#                instruction templates: registers, CSRs, exits and RAM compared at every
#                exit; the interpreter alone where there is no JIT
#   snapshot     snapshot state files: framing, every section's parser, restore onto a VM
#                (src/vmm/snapshot.c); seeds written by tests/unit/test_snapshot.c
#   boot         kernel and initrd loading (src/vmm/boot.c)
#   cli          `duvisor run`'s options (src/cli/run.c)
# Each keeps what libFuzzer finds in FUZZ_CORPUS/<name> (build/fuzz/corpus); the others also
# read the seeds in tests/fuzz/seeds/<name>. Crashes land in build/fuzz/artifacts/ (api's bare,
# the others' prefixed <name>-); replay one with `build/fuzz/fuzz_<name> FILE`. `make fuzz-build`
# only builds them; tests/run then runs each for a few seconds (fuzz-run-<name>).
FUZZ_TIME    ?= 60
FUZZ_CC      ?= clang
FUZZ_B       := build/fuzz
FUZZ_CORPUS  ?= $(FUZZ_B)/corpus
FUZZ_OPT     := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_TARGETS := api decode mmio_decode virtqueue virtio_devices hart boot cli snapshot
FUZZ_TARGET  ?= $(FUZZ_TARGETS)
# Longest input per target (libFuzzer's -max_len).
FUZZ_MAXLEN_api            := 60000
FUZZ_MAXLEN_decode         := 4096
FUZZ_MAXLEN_mmio_decode    := 4096
FUZZ_MAXLEN_virtqueue      := 16384
FUZZ_MAXLEN_virtio_devices := 8192
FUZZ_MAXLEN_hart           := 1500
FUZZ_MAXLEN_boot           := 65536
FUZZ_MAXLEN_cli            := 4096
FUZZ_MAXLEN_snapshot       := 16384
.PHONY: fuzz fuzz-build $(addprefix fuzz-run-,$(FUZZ_TARGETS))
fuzz:
	$(if $(filter-out $(FUZZ_TARGETS),$(FUZZ_TARGET)),\
	  $(error FUZZ_TARGET: unknown $(filter-out $(FUZZ_TARGETS),$(FUZZ_TARGET)); known: $(FUZZ_TARGETS)))
	@$(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) OPT="$(FUZZ_OPT)" \
	  $(addprefix $(FUZZ_B)/fuzz_,$(FUZZ_TARGET))
	@set -e; for t in $(FUZZ_TARGET); do $(MAKE) --no-print-directory fuzz-run-$$t; done
fuzz-build:
	@$(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) OPT="$(FUZZ_OPT)" \
	  $(addprefix $(FUZZ_B)/fuzz_,$(FUZZ_TARGETS))
fuzz-run-api:
	@mkdir -p $(FUZZ_CORPUS)/api $(FUZZ_B)/artifacts
	DUVISOR_FUZZ_WRITE_CORPUS=$(FUZZ_CORPUS)/api $(FUZZ_B)/fuzz_api
	$(FUZZ_B)/fuzz_api -max_total_time=$(FUZZ_TIME) -max_len=$(FUZZ_MAXLEN_api) -timeout=10 \
	  -dict=tests/fuzz/api.dict -artifact_prefix=$(FUZZ_B)/artifacts/ -print_final_stats=1 \
	  $(FUZZ_ARGS) $(FUZZ_CORPUS)/api
$(addprefix fuzz-run-,$(filter-out api,$(FUZZ_TARGETS))): fuzz-run-%:
	@mkdir -p $(FUZZ_CORPUS)/$* $(FUZZ_B)/artifacts
	$(FUZZ_B)/fuzz_$* -max_total_time=$(FUZZ_TIME) -max_len=$(FUZZ_MAXLEN_$*) -timeout=10 \
	  -artifact_prefix=$(FUZZ_B)/artifacts/$*- -print_final_stats=1 \
	  $(FUZZ_ARGS) $(FUZZ_CORPUS)/$* tests/fuzz/seeds/$*
# The unit test shares the harness's header; the unit-test rule's -MMD only records the
# last source of its command line, so the header is named here.
$(B)/tests/test_api_fuzz: tests/fuzz/api_fuzz.h
# Only in the sub-make above, where $(B) is $(FUZZ_B) and the library is the instrumented one.
ifeq ($(B),$(FUZZ_B))
$(B)/fuzz_api: tests/fuzz/fuzz_api.c tests/fuzz/api_fuzz.h $(B)/libduvisor.a
	$(CC) $(ALLCFLAGS) -fsanitize=fuzzer -DFUZZ_FILES_DIR='"$(abspath $(B))/files"' -o $@ $< \
	  $(B)/libduvisor.a $(LDFLAGS) $(LDLIBS)
$(addprefix $(B)/fuzz_,$(filter-out api,$(FUZZ_TARGETS))): $(B)/fuzz_%: tests/fuzz/fuzz_%.c \
                                                           $(B)/libduvisor.a
	$(CC) $(ALLCFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/libduvisor.a $(LDFLAGS) $(LDLIBS)
endif
