/* `duvisor run`: parse and check options, then start the VM. */
#include "cli/cli.h"
#include "util/err.h"

#include <signal.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/jail.h"
#include "host/sandbox.h"
#include "vmm/gdbstub.h"
#include "vmm/vmm.h"

static const char run_usage[] =
    "usage: duvisor run --kernel PATH [options]\n"
    "\n"
    "Boot a RISC-V Linux kernel in a new VM. One process per VM, one thread per vCPU.\n"
    "\n"
    "  --kernel PATH     kernel Image (RISC-V boot header) or ELF vmlinux (required)\n"
    "  --initrd PATH     initramfs or initrd to load beside the kernel\n"
    "  --append STR      kernel command line (default: \"" VM_DEFAULT_APPEND "\",\n"
    "                    with --console hvc0 \"" VM_HVC_APPEND "\")\n"
    "  --console ttyS0|hvc0  the device stdin goes to: the UART (default) or the virtio\n"
    "                    console, which also follows the terminal's size; output of both\n"
    "                    reaches stdout\n"
    "  --smp N           number of vCPUs, 1..32 (default 1)\n"
    "  --memory SIZE     guest RAM in MiB, or with a K/M/G suffix (default 256M)\n"
    "  --dtb-out PATH    also write the generated device tree blob to PATH\n"
    "  --no-reboot       exit when the guest asks for a reboot\n"
    "  --boot-timer      print the guest's boot time when it signals ready\n"
    "  --jit on|off      translate guest code to host code (default: on for x86-64 hosts),\n"
    "                    or interpret every instruction (the reference engine)\n"
    "  --jit-stats       print the JIT's figures per vCPU when the VM stops\n"
    "  --vlen N          the V extension's vector length in bits: 128, 256 (default),\n"
    "                    512 or 1024\n"
    "  --api-sock PATH   also serve the control API (Firecracker's) on this Unix socket\n"
    "  --seccomp off|log|on  a seccomp filter per thread (default on): a forbidden system\n"
    "                    call ends duvisor with a line naming it (log: the kernel logs it)\n"
    "  --level LEVEL     log level: Error, Warning, Info (default), Debug (also each ignored\n"
    "                    device access, at most 10 lines a second), Trace or Off\n"
    "  --strict-mmio     stop the VM when the guest touches an address with no RAM or device,\n"
    "                    or a device register the device does not implement (default: an\n"
    "                    access fault, or an ignored write / zero read, as hardware does)\n"
    "  --irqchip plic|aia  the guest's interrupt controller (default plic): a PLIC, or AIA\n"
    "                    as QEMU virt,aia=aplic-imsic (an IMSIC per vCPU, an APLIC in MSI\n"
    "                    mode; needs a kernel with the AIA drivers, Linux 6.10 or later)\n"
    "  --disk PATH[,ro]  a raw disk image as virtio-blk (repeatable)\n"
    "  --net user[,hostfwd=tcp::HOSTPORT-:GUESTPORT...][,mac=MAC]\n"
    "                    a virtio-net NIC with user-mode networking (no root needed)\n"
    "  --net tap=NAME[,mac=MAC]\n"
    "                    a virtio-net NIC on the host TAP device NAME (repeatable)\n"
    "                    --disk and --net: up to 5 together (the virtio slots beside the\n"
    "                    entropy, console and keyboard devices), of them up to 4 NICs\n"
    "  --balloon [OPTS]  a virtio balloon, inflated and deflated through the API or\n"
    "                    `duvisor balloon`; OPTS, comma-separated: deflate-on-oom,\n"
    "                    free-page-reporting, stats=SECONDS (statistics every SECONDS),\n"
    "                    amount=MIB (the target at boot, default 0)\n"
    "  --share PATH,tag=TAG  share the host directory PATH as virtio-fs (virtiofsd serves\n"
    "                    it; the guest mounts it with mount -t virtiofs TAG DIR); the tag\n"
    "                    has 1 to 36 bytes (repeatable, up to 4)\n"
    "  --vsock cid=N,uds=PATH\n"
    "                    a virtio-vsock device, guest CID N (3 or more), Firecracker's\n"
    "                    hybrid design: host programs connect to the Unix socket PATH and\n"
    "                    write \"CONNECT <port>\\n\"; guest connects to CID 2 port P reach\n"
    "                    a listener on PATH_P\n"
    "  --gdb tcp:HOST:PORT|unix:PATH  serve GDB's remote protocol there (one client at a\n"
    "                    time; HOST an IP address, port 0 picks one, printed on stderr)\n"
    "  --gdb-wait        with --gdb: the guest waits for gdb before its first instruction\n"
    "  -h, --help        show this help\n"
    "\n"
    "Confinement:\n";

/* The numbers run_usage states. */
_Static_assert(VM_MAX_DISKS == 5 && VM_MAX_NICS == 4, "update run_usage's device limits");

int cli_parse_size(const char *text, uint64_t *bytes)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return -1;
    errno = 0;
    char *end;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || end == text)
        return -1;
    unsigned shift = 20;
    switch (*end) {
    case '\0': break;
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    default: return -1;
    }
    if (*end == 'i' || *end == 'B') /* accept "MiB"-style and "MB" spellings */
        end++;
    if (*end == 'B')
        end++;
    if (*end != '\0' || value > (UINT64_MAX >> shift))
        return -1;
    *bytes = (uint64_t)value << shift;
    return 0;
}

int cli_parse_log_level(const char *text, enum api_log_level *level)
{
    static const char *const names[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};
    for (unsigned i = 0; text && i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcasecmp(text, names[i])) {
            *level = (enum api_log_level)i;
            return 0;
        }
    return -1;
}

static int parse_smp(const char *text, unsigned *smp)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno || *end || value < 1 || value > VM_MAX_VCPUS)
        return -1;
    *smp = (unsigned)value;
    return 0;
}

bool cli_take_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t len = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, len) != 0)
        return false;
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return true;
    }
    if (arg[len] != '\0')
        return false;
    *value = (*i + 1 < argc) ? argv[++*i] : NULL;
    return true;
}

static int parse_disk(const char *text, struct vm_config *cfg, char *err, size_t err_len)
{
    if (!text || !*text || *text == ',')
        return set_err(err, err_len, "--disk needs a path");
    if (cfg->ndisks + cfg->nnics >= VM_MAX_DISKS)
        return set_err(err, err_len, "at most %u --disk and --net options together", VM_MAX_DISKS);
    struct vm_disk *d = &cfg->disks[cfg->ndisks];
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "disk%u", cfg->ndisks);
    size_t len = strlen(text);
    d->readonly = len > 3 && !strcmp(text + len - 3, ",ro");
    if (d->readonly)
        len -= 3;
    if (memchr(text, ',', len) && !d->readonly)
        return set_err(err, err_len, "--disk takes PATH or PATH,ro, not '%s'", text);
    if (len >= sizeof(d->path))
        return set_err(err, err_len, "--disk path too long");
    memcpy(d->path, text, len);
    d->path[len] = '\0';
    cfg->ndisks++;
    return 0;
}

/* "52:54:00:12:34:56" */
static int parse_mac(const char *text, size_t len, uint8_t mac[6])
{
    unsigned v[6];
    char buf[18], tail;
    if (len != 17)
        return -1;
    memcpy(buf, text, 17);
    buf[17] = '\0';
    if (sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) !=
        6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    if (mac[0] & 1)
        return -1; /* a multicast address cannot be a NIC's */
    return 0;
}

static int parse_net(const char *text, struct vm_config *cfg, char *err, size_t err_len)
{
    if (!text)
        return set_err(err, err_len, "--net needs user[,...] or tap=NAME[,...]");
    if (cfg->nnics == VM_MAX_NICS)
        return set_err(err, err_len, "at most %u --net options", VM_MAX_NICS);
    if (cfg->ndisks + cfg->nnics >= VM_MAX_DISKS)
        return set_err(err, err_len, "at most %u --disk and --net options together", VM_MAX_DISKS);
    struct vm_nic *n = &cfg->nics[cfg->nnics];
    memset(n, 0, sizeof(*n));
    snprintf(n->id, sizeof(n->id), "net%u", cfg->nnics);
    vm_config_default_mac(cfg, cfg->nnics, n->mac);
    const char *rest;
    if (!strncmp(text, "user", 4) && (text[4] == '\0' || text[4] == ',')) {
        n->kind = VM_NET_USER;
        rest = text + 4;
    } else if (!strncmp(text, "tap=", 4) && text[4] && text[4] != ',') {
        n->kind = VM_NET_TAP;
        size_t len = strcspn(text + 4, ",");
        if (len >= 16)
            return set_err(err, err_len, "--net tap=NAME: interface name too long");
        memcpy(n->options, text + 4, len);
        rest = text + 4 + len;
    } else {
        return set_err(err, err_len, "--net takes user[,...] or tap=NAME[,...], not '%s'", text);
    }
    size_t used = strlen(n->options);
    while (*rest == ',') {
        rest++;
        size_t len = strcspn(rest, ",");
        if (!strncmp(rest, "mac=", 4)) {
            if (parse_mac(rest + 4, len - 4, n->mac))
                return set_err(err, err_len, "--net: bad mac '%.*s' (want 52:54:00:12:34:56)",
                               (int)len, rest);
        } else if (n->kind == VM_NET_USER && !strncmp(rest, "hostfwd=", 8)) {
            if (used + len + 2 > sizeof(n->options))
                return set_err(err, err_len, "--net: too many hostfwd rules");
            if (used)
                n->options[used++] = ',';
            memcpy(n->options + used, rest, len);
            used += len;
            n->options[used] = '\0';
        } else {
            return set_err(err, err_len, "--net: unknown setting '%.*s'", (int)len, rest);
        }
        rest += len;
    }
    cfg->nnics++;
    return 0;
}

/* "PATH,tag=TAG" */
static int parse_share(const char *text, struct vm_config *cfg, char *err, size_t err_len)
{
    const char *comma = text ? strrchr(text, ',') : NULL;
    if (!comma || comma == text || strncmp(comma, ",tag=", 5) != 0)
        return set_err(err, err_len, "--share takes PATH,tag=TAG");
    if (cfg->nshares == VM_MAX_SHARES)
        return set_err(err, err_len, "at most %u --share options", VM_MAX_SHARES);
    struct vm_share *s = &cfg->shares[cfg->nshares];
    memset(s, 0, sizeof(*s));
    size_t len = (size_t)(comma - text), tag_len = strlen(comma + 5);
    if (len >= sizeof(s->path))
        return set_err(err, err_len, "--share path too long");
    if (tag_len == 0 || tag_len > VM_SHARE_TAG_MAX)
        return set_err(err, err_len, "--share: the tag has 1 to %u bytes", VM_SHARE_TAG_MAX);
    memcpy(s->path, text, len);
    memcpy(s->tag, comma + 5, tag_len);
    for (unsigned i = 0; i < cfg->nshares; i++)
        if (!strcmp(cfg->shares[i].tag, s->tag))
            return set_err(err, err_len, "--share: tag '%s' given twice", s->tag);
    cfg->nshares++;
    return 0;
}

/* --vsock cid=N,uds=PATH (either order). */
static int parse_vsock(const char *text, struct vm_config *cfg, char *err, size_t err_len)
{
    char path[VM_VSOCK_PATH_MAX + 1] = "";
    uint64_t cid = 0;
    bool have_cid = false;
    const char *rest = text ? text : "";
    while (*rest) {
        size_t len = strcspn(rest, ",");
        if (!strncmp(rest, "cid=", 4) && len > 4) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(rest + 4, &end, 10);
            if (errno || end != rest + len || rest[4] == '-' || rest[4] == '+')
                return set_err(err, err_len, "--vsock: bad cid '%.*s'", (int)len, rest);
            cid = n;
            have_cid = true;
        } else if (!strncmp(rest, "uds=", 4) && len > 4) {
            if (len - 4 >= sizeof(path))
                return set_err(err, err_len, "--vsock: the uds path is too long");
            memcpy(path, rest + 4, len - 4);
            path[len - 4] = '\0';
        } else {
            return set_err(err, err_len, "--vsock takes cid=N,uds=PATH, not '%s'", text);
        }
        rest += len;
        if (*rest == ',')
            rest++;
    }
    if (!have_cid || !path[0])
        return set_err(err, err_len, "--vsock takes cid=N,uds=PATH, not '%s'", text ? text : "");
    if (vm_config_set_vsock(cfg, cid, path, err, err_len))
        return -1;
    return 0;
}

/* A whole decimal number no greater than max. */
static int parse_bounded(const char *text, unsigned long max, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long n = text && *text >= '0' && *text <= '9' ? strtoul(text, &end, 10) : 0;
    if (!end || *end || errno || n > max)
        return -1;
    *out = (unsigned)n;
    return 0;
}

/* --balloon's options: "" or a comma-separated list. */
static int parse_balloon(const char *value, struct vm_config *cfg, char *err, size_t err_len)
{
    struct vm_balloon b = {.enabled = true};
    char opts[256];
    if (strlen(value) >= sizeof(opts))
        return set_err(err, err_len, "--balloon: options too long");
    snprintf(opts, sizeof(opts), "%s", value);
    char *save = NULL;
    for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        if (!strcmp(o, "deflate-on-oom"))
            b.deflate_on_oom = true;
        else if (!strcmp(o, "free-page-reporting"))
            b.free_page_reporting = true;
        else if (!strncmp(o, "stats=", 6) && !parse_bounded(o + 6, 3600, &b.stats_interval_s))
            continue;
        else if (!strncmp(o, "amount=", 7) && !parse_bounded(o + 7, UINT32_MAX >> 8, &b.amount_mib))
            continue;
        else
            return set_err(err, err_len,
                           "--balloon takes deflate-on-oom, free-page-reporting, stats=SECONDS "
                           "(0..3600) and amount=MIB, not '%s'",
                           o);
    }
    cfg->balloon = b;
    return 0;
}

int cli_parse_run(int argc, char **argv, struct vm_config *cfg, struct vmm_options *opt,
                  struct jail_config *jail, char *err, size_t err_len)
{
    opt->api_sock = NULL;
    opt->logger = (struct api_logger){.level = API_LOG_INFO};
    vm_config_init(cfg);
    jail_config_init(jail);
    bool append_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value;
        int jail_rc;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(run_usage, stdout);
            fputs(cli_jail_usage, stdout);
            return 1;
        } else if ((jail_rc = cli_parse_jail_option(argc, argv, &i, jail, err, err_len)) != 0) {
            if (jail_rc < 0)
                return -1;
        } else if (!strcmp(arg, "--no-reboot")) {
            cfg->no_reboot = true;
        } else if (!strcmp(arg, "--boot-timer")) {
            cfg->boot_timer = true;
        } else if (!strcmp(arg, "--jit-stats")) {
            cfg->jit_stats = true;
        } else if (!strcmp(arg, "--strict-mmio")) {
            cfg->strict_mmio = true;
        } else if (!strcmp(arg, "--gdb-wait")) {
            opt->gdb_wait = true;
        } else if (cli_take_value(argc, argv, &i, "--gdb", &value)) {
            if (gdbstub_check_address(value, err, err_len))
                return -1;
            opt->gdb = value;
        } else if (cli_take_value(argc, argv, &i, "--irqchip", &value)) {
            if (value && !strcmp(value, "plic"))
                cfg->irqchip = VM_IRQCHIP_PLIC;
            else if (value && !strcmp(value, "aia"))
                cfg->irqchip = VM_IRQCHIP_AIA;
            else
                return set_err(err, err_len, "--irqchip takes plic or aia, not '%s'",
                               value ? value : "");
        } else if (cli_take_value(argc, argv, &i, "--jit", &value)) {
            if (value && !strcmp(value, "on"))
                cfg->jit = VM_JIT_ON;
            else if (value && !strcmp(value, "off"))
                cfg->jit = VM_JIT_OFF;
            else
                return set_err(err, err_len, "--jit takes on or off, not '%s'", value ? value : "");
        } else if (cli_take_value(argc, argv, &i, "--vlen", &value)) {
            char *end = NULL;
            unsigned long n = value ? strtoul(value, &end, 10) : 0;
            if (!value || !*value || *end || n < 128 || n > 1024 || (n & (n - 1)))
                return set_err(err, err_len,
                               "--vlen takes a power of two from 128 to 1024, not '%s'",
                               value ? value : "");
            cfg->vlen = (unsigned)n;
        } else if (cli_take_value(argc, argv, &i, "--seccomp", &value)) {
            enum sandbox_mode mode;
            if (!sandbox_parse_mode(value, &mode))
                return set_err(err, err_len, "--seccomp takes off, log or on, not '%s'",
                               value ? value : "");
            cfg->seccomp = (int)mode;
        } else if (cli_take_value(argc, argv, &i, "--level", &value)) {
            if (cli_parse_log_level(value, &opt->logger.level))
                return set_err(err, err_len,
                               "--level takes Error, Warning, Info, Debug, Trace or Off, not '%s'",
                               value ? value : "");
            opt->logger.set = true;
        } else if (cli_take_value(argc, argv, &i, "--api-sock", &value)) {
            if (!value || !*value)
                return set_err(err, err_len, "--api-sock needs a path");
            opt->api_sock = value;
        } else if (cli_take_value(argc, argv, &i, "--kernel", &value)) {
            if (!value || !*value)
                return set_err(err, err_len, "--kernel needs a path");
            if (vm_config_copy_string(cfg->kernel_path, sizeof(cfg->kernel_path), value, "--kernel",
                                      err, err_len))
                return -1;
        } else if (cli_take_value(argc, argv, &i, "--initrd", &value)) {
            if (!value || !*value)
                return set_err(err, err_len, "--initrd needs a path");
            if (vm_config_copy_string(cfg->initrd_path, sizeof(cfg->initrd_path), value, "--initrd",
                                      err, err_len))
                return -1;
        } else if (cli_take_value(argc, argv, &i, "--append", &value)) {
            if (!value)
                return set_err(err, err_len, "--append needs a command line");
            if (vm_config_copy_string(cfg->append, sizeof(cfg->append), value, "--append", err,
                                      err_len))
                return -1;
            append_given = true;
        } else if (cli_take_value(argc, argv, &i, "--console", &value)) {
            if (value && !strcmp(value, "ttyS0"))
                cfg->console_device = VM_CONSOLE_UART;
            else if (value && !strcmp(value, "hvc0"))
                cfg->console_device = VM_CONSOLE_VIRTIO;
            else
                return set_err(err, err_len, "--console takes ttyS0 or hvc0, not '%s'",
                               value ? value : "");
        } else if (cli_take_value(argc, argv, &i, "--dtb-out", &value)) {
            if (!value || !*value)
                return set_err(err, err_len, "--dtb-out needs a path");
            cfg->dtb_out = value;
        } else if (!strcmp(arg, "--balloon") || !strncmp(arg, "--balloon=", 10)) {
            /* the options are optional: a next argument that is an option is not them */
            value = arg[9] == '='                           ? arg + 10
                    : i + 1 < argc && argv[i + 1][0] != '-' ? argv[++i]
                                                            : "";
            if (parse_balloon(value, cfg, err, err_len))
                return -1;
        } else if (cli_take_value(argc, argv, &i, "--disk", &value)) {
            if (parse_disk(value, cfg, err, err_len))
                return -1;
        } else if (cli_take_value(argc, argv, &i, "--net", &value)) {
            if (parse_net(value, cfg, err, err_len))
                return -1;
        } else if (cli_take_value(argc, argv, &i, "--share", &value)) {
            if (parse_share(value, cfg, err, err_len))
                return -1;
        } else if (cli_take_value(argc, argv, &i, "--vsock", &value)) {
            if (parse_vsock(value, cfg, err, err_len))
                return -1;
        } else if (cli_take_value(argc, argv, &i, "--smp", &value)) {
            if (parse_smp(value, &cfg->smp))
                return set_err(err, err_len, "--smp must be a number from 1 to %u, not '%s'",
                               VM_MAX_VCPUS, value ? value : "");
        } else if (cli_take_value(argc, argv, &i, "--memory", &value)) {
            if (cli_parse_size(value, &cfg->memory_bytes))
                return set_err(err, err_len,
                               "--memory takes MiB or a size like 512M or 2G, not '%s'",
                               value ? value : "");
            if (cfg->memory_bytes < VM_MIN_MEMORY || cfg->memory_bytes > VM_MAX_MEMORY)
                return set_err(err, err_len, "--memory must be between %llu MiB and %llu GiB",
                               VM_MIN_MEMORY >> 20, VM_MAX_MEMORY >> 30);
            if (cfg->memory_bytes & 0xfff)
                return set_err(err, err_len, "--memory must be a whole number of 4 KiB pages");
        } else {
            return set_err(err, err_len, "unknown option '%s' (see duvisor run --help)", arg);
        }
    }
    if (!cfg->kernel_path[0])
        return set_err(err, err_len, "--kernel is required (see duvisor run --help)");
    if (cfg->balloon.amount_mib > cfg->memory_bytes >> 20)
        return set_err(err, err_len, "--balloon amount=%u is more than the guest's %llu MiB",
                       cfg->balloon.amount_mib, (unsigned long long)(cfg->memory_bytes >> 20));
    if (!append_given && cfg->console_device == VM_CONSOLE_VIRTIO)
        snprintf(cfg->append, sizeof(cfg->append), "%s", VM_HVC_APPEND);
    if (opt->gdb_wait && !opt->gdb)
        return set_err(err, err_len, "--gdb-wait needs --gdb");
    return cli_check_jail(jail, err, err_len);
}

int cmd_run(int argc, char **argv)
{
    struct vm_config cfg;
    struct jail_config jail;
    struct vmm_options opt = {
        .start_now = true, .vmm_version = DUVISOR_VERSION_STRING, .jail = &jail};
    char err[512];
    int rc = cli_parse_run(argc, argv, &cfg, &opt, &jail, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "duvisor: %s\n", err);
        return EXIT_USAGE;
    }
    return vmm_main(&cfg, &opt);
}
