# The V extension's test programs (tests/vector/NAME.c): riscv64 images linked
# at 0x80000000 that print through Linux syscalls, run by test_vector both
# under qemu-riscv64 user mode and on the hart. Included by the top-level Makefile.
VTEST_CC    ?= riscv64-linux-gnu-gcc
VTEST_FLAGS := -march=rv64gcv -mabi=lp64d -O2 -static -nostdlib -nostartfiles -no-pie \
               -ffreestanding -fno-builtin -fno-stack-protector -fno-pic -mcmodel=medany \
               -Wall -Wextra -Werror -Wno-unused-function -Wl,--build-id=none \
               -Wl,-T,tests/vector/vtest.ld
VTEST_SRCS  := $(wildcard tests/vector/*.c)
$(B)/vector-tests/vmem.elf: tests/vector/vmem_ops.h
$(B)/vector-tests/fp16.elf: VTEST_FLAGS += -march=rv64gcv_zfh
$(B)/vector-tests/vzvbb.elf $(B)/vector-tests/vzvk.elf: tests/vector/vinsn.h
VTEST_ELFS  := $(patsubst tests/vector/%.c,$(B)/vector-tests/%.elf,$(VTEST_SRCS))

$(B)/vector-tests/%.elf: tests/vector/%.c tests/vector/rt.h tests/vector/vtest.ld tests/vector/vector.mk
	@mkdir -p $(dir $@)
	$(VTEST_CC) $(VTEST_FLAGS) -o $@ $<

$(B)/vector-tests/%.bin: $(B)/vector-tests/%.elf
	$(GUEST_OBJCOPY) -O binary $< $@

.SECONDARY: $(VTEST_ELFS)

$(B)/tests/test_vector: $(VTEST_ELFS:.elf=.bin)
$(B)/tests/test_vector: ALLCFLAGS += -DVECTOR_TESTS_DIR='"$(B)/vector-tests"'
