/* A jailed VMM's files, opened by name before it enters the jail. */
#include "vmm/held_files.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "devices/net_tap.h"
#include "devices/net_user.h"
#include "util/err.h"

static int open_named(int *fd, const char *what, const char *path, int flags, char *err,
                      size_t err_len)
{
    *fd = open(path, flags | O_CLOEXEC, 0644);
    if (*fd < 0)
        return set_err(err, err_len, "cannot open %s '%s': %s", what, path, strerror(errno));
    return 0;
}

static int open_all(struct vm_held_files *h, const struct vm_config *cfg, char *err, size_t err_len)
{
    if (open_named(&h->kernel, "kernel", cfg->kernel_path, O_RDONLY, err, err_len) ||
        (cfg->initrd_path[0] &&
         open_named(&h->initrd, "initrd", cfg->initrd_path, O_RDONLY, err, err_len)) ||
        (cfg->dtb_out &&
         open_named(&h->dtb_out, "--dtb-out", cfg->dtb_out, O_WRONLY | O_CREAT, err, err_len)))
        return -1;
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        const struct vm_disk *d = &cfg->disks[i];
        if (open_named(&h->disks[i], "disk", d->path, d->readonly ? O_RDONLY : O_RDWR, err,
                       err_len))
            return -1;
    }
    for (unsigned i = 0; i < cfg->nnics; i++) {
        const struct vm_nic *n = &cfg->nics[i];
        h->nics[i] = n->kind == VM_NET_USER
                         ? net_user_spawn("/proc/self/exe", n->options, err, err_len)
                         : net_tap_open(n->options, err, err_len);
        if (h->nics[i] < 0)
            return -1;
    }
    return 0;
}

unsigned held_files_fields(struct vm_held_files *h, int *out[HELD_FILES_MAX])
{
    unsigned n = 0;
    out[n++] = &h->kernel;
    out[n++] = &h->initrd;
    out[n++] = &h->dtb_out;
    for (unsigned i = 0; i < VM_MAX_DISKS; i++)
        out[n++] = &h->disks[i];
    for (unsigned i = 0; i < VM_MAX_NICS; i++)
        out[n++] = &h->nics[i];
    return n;
}

int held_files_open(struct vm_held_files *h, const struct vm_config *cfg, char *err, size_t err_len)
{
    int *fd[HELD_FILES_MAX];
    for (unsigned i = 0, n = held_files_fields(h, fd); i < n; i++)
        *fd[i] = -1;
    if (open_all(h, cfg, err, err_len) == 0)
        return 0;
    held_files_close(h);
    return -1;
}

void held_files_close(struct vm_held_files *h)
{
    int *fd[HELD_FILES_MAX];
    for (unsigned i = 0, n = held_files_fields(h, fd); i < n; i++)
        if (*fd[i] >= 0) {
            close(*fd[i]);
            *fd[i] = -1;
        }
}

unsigned held_files_list(struct vm_held_files *h, int *fds)
{
    int *fd[HELD_FILES_MAX];
    unsigned kept = 0;
    for (unsigned i = 0, n = held_files_fields(h, fd); i < n; i++)
        if (*fd[i] >= 0)
            fds[kept++] = *fd[i];
    return kept;
}
