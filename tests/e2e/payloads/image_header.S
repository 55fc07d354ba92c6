/* The RISC-V Linux Image header (Documentation/riscv/boot-image-header.rst)
   that makes a bare payload loadable as a kernel: included first by each
   payload, which then defines `code`, where execution continues. */
    .option norvc
    .section .text
    .globl _start
_start:
    j       code                    /* code0 */
    .word   0                       /* code1 */
    .dword  0x200000                /* text_offset */
    .dword  0x10000                 /* image_size: room for the code and its data */
    .dword  0                       /* flags: little endian */
    .word   2                       /* version 0.2 */
    .word   0
    .dword  0
    .ascii  "RISCV\0\0\0"           /* magic */
    .ascii  "RSC\x05"               /* magic2 */
    .word   0
