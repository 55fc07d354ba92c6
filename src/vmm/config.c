/* The VM configuration value (see config.h): defaults, strings, disks, NICs. */
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "vmm/config.h"

void vm_config_init(struct vm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->append, sizeof(cfg->append), "%s", VM_DEFAULT_APPEND);
    cfg->smp = 1;
    cfg->memory_bytes = VM_DEFAULT_MEMORY;
}

int vm_config_copy_string(char *dst, size_t dst_len, const char *src, const char *what, char *err,
                          size_t err_len)
{
    size_t len = strlen(src);
    if (len >= dst_len)
        return set_err(err, err_len, "%s is longer than %zu bytes", what, dst_len - 1);
    memcpy(dst, src, len + 1);
    return 0;
}

int vm_config_bootargs(const struct vm_config *cfg, char *out, size_t out_len)
{
    const struct vm_disk *root = NULL;
    for (unsigned i = 0; i < cfg->ndisks; i++)
        if (cfg->disks[i].root)
            root = &cfg->disks[i];
    int n;
    if (!root)
        n = snprintf(out, out_len, "%s", cfg->append);
    else if (root->partuuid[0])
        n = snprintf(out, out_len, "%s%sroot=PARTUUID=%s %s", cfg->append,
                     cfg->append[0] ? " " : "", root->partuuid, root->readonly ? "ro" : "rw");
    else /* the root disk is always the first, /dev/vda */
        n = snprintf(out, out_len, "%s%sroot=/dev/vda %s", cfg->append, cfg->append[0] ? " " : "",
                     root->readonly ? "ro" : "rw");
    return n >= 0 && (size_t)n < out_len ? 0 : -1;
}

struct vm_disk *vm_config_find_disk(struct vm_config *cfg, const char *id)
{
    for (unsigned i = 0; i < cfg->ndisks; i++)
        if (!strcmp(cfg->disks[i].id, id))
            return &cfg->disks[i];
    return NULL;
}

int vm_config_put_disk(struct vm_config *cfg, const struct vm_disk *disk, char *err, size_t err_len)
{
    struct vm_disk *slot = vm_config_find_disk(cfg, disk->id);
    for (unsigned i = 0; disk->root && i < cfg->ndisks; i++)
        if (cfg->disks[i].root && &cfg->disks[i] != slot)
            return set_err(err, err_len, "A root block device already exists!");
    if (!slot) {
        if (cfg->ndisks + cfg->nnics >= VM_MAX_DISKS)
            return set_err(err, err_len, "at most %u drives and network interfaces together",
                           VM_MAX_DISKS);
        slot = &cfg->disks[cfg->ndisks++];
    }
    *slot = *disk;
    /* The root disk goes first, so it is /dev/vda whatever order it came in. */
    if (slot->root && slot != &cfg->disks[0]) {
        struct vm_disk root = *slot;
        memmove(&cfg->disks[1], &cfg->disks[0], (size_t)(slot - cfg->disks) * sizeof(root));
        cfg->disks[0] = root;
    }
    return 0;
}

struct vm_nic *vm_config_find_nic(struct vm_config *cfg, const char *id)
{
    for (unsigned i = 0; i < cfg->nnics; i++)
        if (!strcmp(cfg->nics[i].id, id))
            return &cfg->nics[i];
    return NULL;
}

int vm_config_put_nic(struct vm_config *cfg, const struct vm_nic *nic, char *err, size_t err_len)
{
    struct vm_nic *slot = vm_config_find_nic(cfg, nic->id);
    if (!slot) {
        if (cfg->nnics == VM_MAX_NICS || cfg->ndisks + cfg->nnics >= VM_MAX_DISKS)
            return set_err(err, err_len,
                           "at most %u network interfaces, and %u drives and interfaces together",
                           VM_MAX_NICS, VM_MAX_DISKS);
        slot = &cfg->nics[cfg->nnics++];
    }
    *slot = *nic;
    return 0;
}

void vm_config_default_mac(const struct vm_config *cfg, unsigned index, uint8_t mac[6])
{
    (void)cfg;
    /* A locally administered address, distinct per NIC, as QEMU's defaults. */
    const uint8_t base[6] = {0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + index)};
    memcpy(mac, base, 6);
}
