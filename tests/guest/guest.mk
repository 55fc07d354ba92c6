# Guest test images for tests/unit/test_exits.c: every tests/guest/NAME.S except
# common.S (macros only) becomes $(B)/guest-images/NAME.bin, a flat riscv64 blob
# linked at guest-physical 0x80000000. Included by the top-level Makefile.
GUEST_CROSS   ?= riscv64-linux-gnu-
GUEST_CC      := $(GUEST_CROSS)gcc
GUEST_OBJCOPY := $(GUEST_CROSS)objcopy
GUEST_FLAGS   := -march=rv64gc -mabi=lp64d -mno-relax -nostdlib -nostartfiles -static -no-pie \
                 -Wa,--fatal-warnings -Wl,--build-id=none -Wl,-T,tests/guest/guest.ld
GUEST_SRCS    := $(filter-out tests/guest/common.S,$(wildcard tests/guest/*.S))
GUEST_IMAGES  := $(patsubst tests/guest/%.S,$(B)/guest-images/%.bin,$(GUEST_SRCS))

$(B)/guest-images/%.elf: tests/guest/%.S tests/guest/common.S tests/guest/guest.ld tests/guest/guest.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_FLAGS) -o $@ $<

$(B)/guest-images/%.bin: $(B)/guest-images/%.elf
	$(GUEST_OBJCOPY) -O binary $< $@

# Keep the ELF files for objdump when a test fails.
.SECONDARY: $(GUEST_IMAGES:.bin=.elf)

.PHONY: guest-images
guest-images: $(GUEST_IMAGES)

$(B)/tests/test_exits: $(GUEST_IMAGES)
$(B)/tests/test_exits: ALLCFLAGS += -DGUEST_IMAGES_DIR='"$(B)/guest-images"'
$(B)/tests/test_vmm: $(GUEST_IMAGES:.bin=.elf)
$(B)/tests/test_vmm: ALLCFLAGS += -DGUEST_IMAGES_DIR='"$(B)/guest-images"'
$(B)/tests/test_snapshot: $(GUEST_IMAGES:.bin=.elf)
$(B)/tests/test_snapshot: ALLCFLAGS += -DGUEST_IMAGES_DIR='"$(B)/guest-images"'
