/* A jailed VMM's files, opened before the jail (see struct vm_held_files). */
#ifndef DUVISOR_VMM_HELD_FILES_H
#define DUVISOR_VMM_HELD_FILES_H

#include <stddef.h>

#include "vmm/config.h"

/* Open what cfg names: kernel, initrd, --dtb-out, disks, TAPs; start the
   user-networking helpers. 0, or -1 with a reason (nothing left open). */
int held_files_open(struct vm_held_files *h, const struct vm_config *cfg, char *err,
                    size_t err_len);
void held_files_close(struct vm_held_files *h);
#define HELD_FILES_MAX (3u + VM_MAX_DISKS + VM_MAX_NICS)
/* Every open fd of h into fds (room for all); how many. */
unsigned held_files_list(struct vm_held_files *h, int *fds);
/* Every fd field of h, open or -1, in a fixed order (HELD_FILES_MAX of them). */
unsigned held_files_fields(struct vm_held_files *h, int *out[HELD_FILES_MAX]);

#endif
