/* A minimal RISC-V Linux-format Image whose "kernel" stores to a guest-physical
   address no RAM or device covers: the hypervisor must stop the VM with a
   register dump and exit status 1, never crash or hang. */
#include "image_header.S"
code:
    li      t0, 0x20000000          /* nothing lives here in the virt map */
    li      t1, 0x5a5a
    sw      t1, 0(t0)
1:  j       1b
end:
