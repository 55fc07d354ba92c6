# `make bench-hart`: how fast the software hart runs guest code and what one VM
# exit costs. A benchmark, not a test: it reports figures, it never asserts them.
#
# Guests: bench/hart/*.S, bare riscv64 programs linked at BENCH_RAM_BASE, run
# from their first byte. Driver: bench/hart_bench.c.

BENCH_CROSS      ?= riscv64-linux-gnu-
BENCH_GUESTFLAGS := -nostdlib -nostartfiles -static -march=rv64gc -mabi=lp64d -Ibench/hart \
                    -Wl,-Ttext=0x80000000 -Wl,--build-id=none -Wl,-e,_start
BENCH_IMAGES     := $(patsubst bench/hart/%.S,$(B)/bench-images/%.bin,$(wildcard bench/hart/*.S))

$(B)/bench-images/%.elf: bench/hart/%.S bench/hart/guest.h
	@mkdir -p $(dir $@)
	$(BENCH_CROSS)gcc $(BENCH_GUESTFLAGS) -o $@ $<

# keep the ELFs for objdump
.PRECIOUS: $(B)/bench-images/%.elf
$(B)/bench-images/%.bin: $(B)/bench-images/%.elf
	$(BENCH_CROSS)objcopy -O binary $< $@

$(B)/hart_bench: bench/hart_bench.c bench/hart/guest.h $(B)/libduvisor.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -o $@ $< $(B)/libduvisor.a $(LDFLAGS) $(LDLIBS)

.PHONY: bench-hart
bench-hart: $(B)/hart_bench $(BENCH_IMAGES)
	$(B)/hart_bench $(B)/bench-images

# --- `make bench`: duvisor against QEMU on the same guest (bench/*.sh) ---------------
# bench/vmrun runs a VM and timestamps its output lines; a host tool, not linked
# with duvisor.
$(B)/bench/vmrun: bench/vmrun.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) -o $@ $<

# The guest is built (or taken from the cache) first; bench/all.sh prints the
# table and regenerates BENCHMARKS.md and bench/chart.png from the run.
.PHONY: bench bench-report
bench: setup $(B)/duvisor $(B)/bench/vmrun
	@bash scripts/build-guest >/dev/null
	@B=$(B) bash bench/all.sh

# BENCHMARKS.md and bench/chart.png again, from build/bench/latest.tsv.
bench-report:
	@B=$(B) bash bench/report.sh
