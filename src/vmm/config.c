/* The VM configuration value (see config.h): defaults, strings, disks, NICs. */
#include <stdio.h>
#include <string.h>

#include "host/sandbox.h"
#include "util/err.h"
#include "util/state.h"
#include "vmm/config.h"

#include "hart/engine.h"

void vm_config_init(struct vm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->append, sizeof(cfg->append), "%s", VM_DEFAULT_APPEND);
    cfg->smp = 1;
    cfg->memory_bytes = VM_DEFAULT_MEMORY;
    cfg->seccomp = (int)sandbox_default_mode();
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

int vm_config_set_vsock(struct vm_config *cfg, uint64_t cid, const char *uds_path, char *err,
                        size_t err_len)
{
    if (cid < 3 || cid > 0xfffffffeu)
        return set_err(err, err_len, "vsock guest CID %llu: it must be 3 to 4294967294",
                       (unsigned long long)cid);
    if (!uds_path || !uds_path[0])
        return set_err(err, err_len, "vsock needs a Unix socket path");
    if (strlen(uds_path) >= sizeof(cfg->vsock_uds))
        return set_err(err, err_len, "vsock socket path is longer than %zu bytes",
                       sizeof(cfg->vsock_uds) - 1);
    cfg->vsock_cid = (uint32_t)cid;
    snprintf(cfg->vsock_uds, sizeof(cfg->vsock_uds), "%s", uds_path);
    return 0;
}

void vm_config_save(const struct vm_config *cfg, struct state_writer *w)
{
    state_put_str(w, cfg->kernel_path);
    state_put_str(w, cfg->initrd_path);
    state_put_str(w, cfg->append);
    state_put_u32(w, cfg->smp);
    state_put_u64(w, cfg->memory_bytes);
    state_put_bool(w, cfg->track_dirty_pages);
    state_put_bool(w, cfg->strict_mmio);
    state_put_u32(w, cfg->ndisks);
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        const struct vm_disk *d = &cfg->disks[i];
        state_put_str(w, d->id);
        state_put_str(w, d->path);
        state_put_bool(w, d->readonly);
        state_put_bool(w, d->root);
        state_put_str(w, d->partuuid);
        state_put_str(w, d->cache_type);
        state_put_str(w, d->io_engine);
    }
    state_put_u32(w, cfg->nnics);
    for (unsigned i = 0; i < cfg->nnics; i++) {
        const struct vm_nic *n = &cfg->nics[i];
        state_put_str(w, n->id);
        state_put_u8(w, (uint8_t)n->kind);
        state_put_str(w, n->options);
        state_put_bytes(w, n->mac, sizeof(n->mac));
        state_put_bool(w, n->mac_set);
        state_put_u32(w, n->mtu);
    }
    /* these three last: snapshot format 1.0 had none (snapshot.c pads them) */
    state_put_u8(w, (uint8_t)cfg->irqchip);
    state_put_u32(w, cfg->vlen ? cfg->vlen : DV_VLEN_DEFAULT);
    state_put_u8(w, (uint8_t)cfg->console_device);
    /* since format 1.4 (older files are padded: no vsock) */
    state_put_u32(w, cfg->vsock_cid);
    state_put_str(w, cfg->vsock_uds);
    /* since format 1.5 (older files are padded: no balloon) */
    state_put_bool(w, cfg->balloon.enabled);
    state_put_bool(w, cfg->balloon.deflate_on_oom);
    state_put_bool(w, cfg->balloon.free_page_reporting);
    state_put_u32(w, cfg->balloon.stats_interval_s);
    state_put_u32(w, cfg->balloon.amount_mib);
}

bool vm_config_restore(struct vm_config *cfg, struct state_reader *r)
{
    state_get_str(r, cfg->kernel_path, sizeof(cfg->kernel_path));
    state_get_str(r, cfg->initrd_path, sizeof(cfg->initrd_path));
    state_get_str(r, cfg->append, sizeof(cfg->append));
    cfg->smp = state_get_u32(r);
    cfg->memory_bytes = state_get_u64(r);
    cfg->track_dirty_pages = state_get_bool(r);
    cfg->strict_mmio = state_get_bool(r);
    if (state_reader_ok(r) && (cfg->smp == 0 || cfg->smp > VM_MAX_VCPUS))
        return state_fail(r, "%u vCPUs (1 to %u)", cfg->smp, VM_MAX_VCPUS);
    if (state_reader_ok(r) && (cfg->memory_bytes < VM_MIN_MEMORY ||
                               cfg->memory_bytes > VM_MAX_MEMORY || cfg->memory_bytes % 4096))
        return state_fail(r, "guest memory of %llu bytes", (unsigned long long)cfg->memory_bytes);
    cfg->ndisks = state_get_count(r, VM_MAX_DISKS, "disks");
    for (unsigned i = 0; i < cfg->ndisks && state_reader_ok(r); i++) {
        struct vm_disk *d = &cfg->disks[i];
        state_get_str(r, d->id, sizeof(d->id));
        state_get_str(r, d->path, sizeof(d->path));
        d->readonly = state_get_bool(r);
        d->root = state_get_bool(r);
        state_get_str(r, d->partuuid, sizeof(d->partuuid));
        state_get_str(r, d->cache_type, sizeof(d->cache_type));
        state_get_str(r, d->io_engine, sizeof(d->io_engine));
        if (state_reader_ok(r) && (!d->id[0] || (d->root && i != 0)))
            return state_fail(r, "disk %u: no id, or a root disk that is not the first", i);
    }
    cfg->nnics = state_get_count(r, VM_MAX_NICS, "network interfaces");
    for (unsigned i = 0; i < cfg->nnics && state_reader_ok(r); i++) {
        struct vm_nic *n = &cfg->nics[i];
        state_get_str(r, n->id, sizeof(n->id));
        uint8_t kind = state_get_u8(r);
        state_get_str(r, n->options, sizeof(n->options));
        state_get_bytes(r, n->mac, sizeof(n->mac));
        n->mac_set = state_get_bool(r);
        n->mtu = state_get_u32(r);
        if (state_reader_ok(r) && (kind > VM_NET_TAP || !n->id[0]))
            return state_fail(r, "network interface %u: kind %u or no id", i, kind);
        n->kind = (enum vm_net_kind)kind;
    }
    uint8_t chip = state_get_u8(r);
    if (state_reader_ok(r) && chip > VM_IRQCHIP_AIA)
        return state_fail(r, "interrupt controller %u", chip);
    cfg->irqchip = (enum vm_irqchip)chip;
    cfg->vlen = state_get_u32(r);
    if (state_reader_ok(r) && cfg->vlen == 0)
        cfg->vlen = DV_VLEN_DEFAULT; /* a format 1.0 file, padded */
    if (state_reader_ok(r) &&
        (cfg->vlen < 128 || cfg->vlen > 1024 || (cfg->vlen & (cfg->vlen - 1))))
        return state_fail(r, "a VLEN of %u bits", cfg->vlen);
    uint8_t console = state_get_u8(r);
    if (state_reader_ok(r) && console > VM_CONSOLE_VIRTIO)
        return state_fail(r, "console device %u", console);
    cfg->console_device = (enum vm_console_device)console;
    cfg->vsock_cid = state_get_u32(r);
    state_get_str(r, cfg->vsock_uds, sizeof(cfg->vsock_uds));
    if (state_reader_ok(r) && cfg->vsock_cid &&
        (cfg->vsock_cid < 3 || cfg->vsock_cid == UINT32_MAX || !cfg->vsock_uds[0]))
        return state_fail(r, "vsock guest CID %u with socket '%s'", cfg->vsock_cid, cfg->vsock_uds);
    cfg->balloon.enabled = state_get_bool(r);
    cfg->balloon.deflate_on_oom = state_get_bool(r);
    cfg->balloon.free_page_reporting = state_get_bool(r);
    cfg->balloon.stats_interval_s = state_get_u32(r);
    cfg->balloon.amount_mib = state_get_u32(r);
    return state_reader_ok(r);
}
