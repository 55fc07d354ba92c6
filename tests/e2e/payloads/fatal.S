/* A minimal RISC-V Linux-format Image whose "kernel" stores to a guest-physical
   address no RAM or device covers: the hypervisor must stop the VM with a
   register dump and exit status 1, never crash or hang. */
    .option norvc
    .section .text
    .globl _start
_start:
    j       code                    /* code0 */
    .word   0                       /* code1 */
    .dword  0x200000                /* text_offset */
    .dword  end - _start            /* image_size */
    .dword  0                       /* flags: little endian */
    .word   2                       /* version 0.2 */
    .word   0
    .dword  0
    .ascii  "RISCV\0\0\0"           /* magic */
    .ascii  "RSC\x05"               /* magic2 */
    .word   0
code:
    li      t0, 0x20000000          /* nothing lives here in the virt map */
    li      t1, 0x5a5a
    sw      t1, 0(t0)
1:  j       1b
end:
