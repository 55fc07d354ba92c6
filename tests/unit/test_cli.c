/* `duvisor run` option parsing: what users type, and what they get wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cli/cli.h"
#include "host/jail.h"
#include "vmm/vmm.h"

#define ARGV(...) ((char *[]){"run", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"run", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, err, ...)                                                                       \
    cli_parse_run(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (cfg), &(struct vmm_options){0},           \
                  &(struct jail_config){0}, (err), sizeof(err))

static void test_defaults(void **state)
{
    (void)state;
    struct vm_config cfg;
    char err[256] = "";
    assert_int_equal(PARSE(&cfg, err, "--kernel", "Image"), 0);
    assert_string_equal(cfg.kernel_path, "Image");
    assert_string_equal(cfg.initrd_path, "");
    assert_null(cfg.dtb_out);
    assert_string_equal(cfg.append, "console=ttyS0 earlycon=sbi");
    assert_int_equal(cfg.smp, 1);
    assert_int_equal(cfg.memory_bytes, 256ull << 20);
    assert_false(cfg.no_reboot);
}

static void test_all_options_both_spellings(void **state)
{
    (void)state;
    struct vm_config cfg;
    char err[256] = "";
    assert_int_equal(PARSE(&cfg, err, "--kernel=K", "--initrd", "R", "--append=a b", "--smp", "4",
                           "--memory=2G", "--dtb-out", "x.dtb", "--no-reboot"),
                     0);
    assert_string_equal(cfg.kernel_path, "K");
    assert_string_equal(cfg.initrd_path, "R");
    assert_string_equal(cfg.append, "a b");
    assert_string_equal(cfg.dtb_out, "x.dtb");
    assert_int_equal(cfg.smp, 4);
    assert_int_equal(cfg.memory_bytes, 2ull << 30);
    assert_true(cfg.no_reboot);
}

static void test_sizes(void **state)
{
    (void)state;
    uint64_t b;
    assert_int_equal(cli_parse_size("512", &b), 0);
    assert_int_equal(b, 512ull << 20);
    assert_int_equal(cli_parse_size("512M", &b), 0);
    assert_int_equal(b, 512ull << 20);
    assert_int_equal(cli_parse_size("2g", &b), 0);
    assert_int_equal(b, 2ull << 30);
    assert_int_equal(cli_parse_size("65536K", &b), 0);
    assert_int_equal(b, 64ull << 20);
    assert_int_equal(cli_parse_size("1GiB", &b), 0);
    assert_int_equal(b, 1ull << 30);
    const char *bad[] = {
        "", "-1", "+5", "M", "12X", "1.5G", "99999999999999999999", "1G2", "18446744073709551615G"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cli_parse_size(bad[i], &b), -1);
}

static void expect_error(int rc, const char *err, const char *needle)
{
    assert_int_equal(rc, -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct vm_config cfg;
    char err[256];
    expect_error(PARSE(&cfg, err, "--initrd", "R"), err, "--kernel is required");
    expect_error(PARSE(&cfg, err, "--kernel"), err, "--kernel needs a path");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--smp", "0"), err, "--smp");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--smp", "33"), err, "1 to 32");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--smp", "-2"), err, "--smp");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--smp", "2x"), err, "--smp");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--memory", "8"), err, "between");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--memory", "1T"), err, "--memory");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--memory", "1000G"), err, "between");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--memory", "65537K"), err, "4 KiB");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--frobnicate"), err, "unknown option");
    /* A prefix of a known option is not that option. */
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--smpx", "2"), err, "unknown option");
}

static void test_balloon(void **state)
{
    (void)state;
    struct vm_config cfg;
    char err[256] = "";
    assert_int_equal(PARSE(&cfg, err, "--kernel", "K"), 0);
    assert_false(cfg.balloon.enabled);
    /* bare: the next argument is an option, not the balloon's */
    assert_int_equal(PARSE(&cfg, err, "--kernel", "K", "--balloon", "--smp", "2"), 0);
    assert_true(cfg.balloon.enabled);
    assert_false(cfg.balloon.deflate_on_oom || cfg.balloon.free_page_reporting);
    assert_int_equal(cfg.balloon.stats_interval_s + cfg.balloon.amount_mib, 0);
    assert_int_equal(cfg.smp, 2);
    assert_int_equal(PARSE(&cfg, err, "--kernel", "K", "--balloon"), 0);
    assert_true(cfg.balloon.enabled);
    assert_int_equal(PARSE(&cfg, err, "--kernel", "K", "--balloon",
                           "deflate-on-oom,free-page-reporting,stats=5,amount=64"),
                     0);
    assert_true(cfg.balloon.enabled && cfg.balloon.deflate_on_oom &&
                cfg.balloon.free_page_reporting);
    assert_int_equal(cfg.balloon.stats_interval_s, 5);
    assert_int_equal(cfg.balloon.amount_mib, 64);
    assert_int_equal(PARSE(&cfg, err, "--kernel", "K", "--balloon=stats=1"), 0);
    assert_int_equal(cfg.balloon.stats_interval_s, 1);
    char *bad[] = {"x",         "stats=",     "stats=-1",         "stats=3601",
                   "amount=1k", "amount=257", "deflate-on-oom,x", "stats=1x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(PARSE(&cfg, err, "--kernel", "K", "--balloon", bad[i]), err, "--balloon");
}

static void test_disks_and_nics(void **state)
{
    (void)state;
    struct vm_config cfg;
    char err[256] = "";
    assert_int_equal(PARSE(&cfg, err, "--kernel", "K", "--disk", "a.img", "--disk=b.img,ro",
                           "--net", "user,hostfwd=tcp::8080-:80,hostfwd=tcp:127.0.0.1:2222-:22",
                           "--net", "tap=tap0,mac=52:54:00:aa:bb:cc"),
                     0);
    assert_int_equal(cfg.ndisks, 2);
    assert_string_equal(cfg.disks[0].path, "a.img");
    assert_false(cfg.disks[0].readonly);
    assert_string_equal(cfg.disks[1].path, "b.img");
    assert_true(cfg.disks[1].readonly);
    assert_int_equal(cfg.nnics, 2);
    assert_int_equal(cfg.nics[0].kind, VM_NET_USER);
    assert_string_equal(cfg.nics[0].options,
                        "hostfwd=tcp::8080-:80,hostfwd=tcp:127.0.0.1:2222-:22");
    assert_int_equal(cfg.nics[0].mac[5], 0x56);
    assert_int_equal(cfg.nics[1].kind, VM_NET_TAP);
    assert_string_equal(cfg.nics[1].options, "tap0");
    assert_int_equal(cfg.nics[1].mac[3], 0xaa);
    assert_int_equal(cfg.nics[1].mac[5], 0xcc);

    expect_error(PARSE(&cfg, err, "--kernel", "K", "--disk", "a.img,rw"), err, "PATH,ro");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--disk", ""), err, "needs a path");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--net", "bridge"), err, "user[,...]");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--net", "tap="), err, "user[,...]");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--net", "user,mac=01:00:00:00:00:01"), err,
                 "bad mac");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--net", "user,mac=52:54:00:12:34"), err,
                 "bad mac");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--net", "user,speed=fast"), err,
                 "unknown setting");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--net", "tap=tap0,hostfwd=tcp::1-:1"), err,
                 "unknown setting");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--net", "tap=averyveryverylongname"), err,
                 "too long");
}

/* --share PATH,tag=TAG: the tag is the last ",tag=", so a path may hold commas. */
static void test_shares(void **state)
{
    (void)state;
    struct vm_config cfg;
    char err[256] = "";
    assert_int_equal(PARSE(&cfg, err, "--kernel", "K", "--share", "/srv/a,b,tag=data",
                           "--share=/tmp,tag=012345678901234567890123456789012345"),
                     0);
    assert_int_equal(cfg.nshares, 2);
    assert_string_equal(cfg.shares[0].path, "/srv/a,b");
    assert_string_equal(cfg.shares[0].tag, "data");
    assert_null(cfg.shares[0].daemon);
    assert_string_equal(cfg.shares[1].tag, "012345678901234567890123456789012345"); /* 36 */

    expect_error(PARSE(&cfg, err, "--kernel", "K", "--share", "/srv"), err, "PATH,tag=TAG");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--share", ",tag=x"), err, "PATH,tag=TAG");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--share", "/srv,tag="), err, "1 to 36");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--share",
                       "/srv,tag=0123456789012345678901234567890123456"),
                 err, "1 to 36");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--share", "/a,tag=t", "--share", "/b,tag=t"),
                 err, "given twice");
    expect_error(PARSE(&cfg, err, "--kernel", "K", "--share", "/a,tag=1", "--share", "/a,tag=2",
                       "--share", "/a,tag=3", "--share", "/a,tag=4", "--share", "/a,tag=5"),
                 err, "at most 4");
}

/* The jail's options and --level (which share the options structure). */
static void test_jail_options(void **state)
{
    (void)state;
    struct vm_config cfg;
    struct jail_config j;
    char err[256] = "";
    struct vmm_options opt;
#define PARSE_JAIL(...)                                                                            \
    cli_parse_run(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), &cfg, &opt, &j, err, sizeof(err))
    assert_int_equal(PARSE_JAIL("--kernel", "K"), 0);
    assert_null(j.dir);
    assert_int_equal(j.uid, -1);
    assert_int_equal(PARSE_JAIL("--kernel", "K", "--jail", "/srv/vm1", "--uid=1000", "--gid", "100",
                                "--netns", "/run/netns/vm1", "--jail-tun", "--resource-limit",
                                "no-file=512", "--resource-limit=as=1073741824", "--resource-limit",
                                "fsize=4096"),
                     0);
    assert_string_equal(j.dir, "/srv/vm1");
    assert_int_equal(j.uid, 1000);
    assert_int_equal(j.gid, 100);
    assert_string_equal(j.netns, "/run/netns/vm1");
    assert_true(j.tun);
    assert_int_equal(j.no_file, 512);
    assert_int_equal(j.as, 1ull << 30);
    assert_int_equal(j.fsize, 4096);

    expect_error(PARSE_JAIL("--kernel", "K", "--uid", "5"), err, "need --jail");
    expect_error(PARSE_JAIL("--kernel", "K", "--jail-tun"), err, "need --jail");
    expect_error(PARSE_JAIL("--kernel", "K", "--jail"), err, "needs a directory");
    expect_error(PARSE_JAIL("--kernel", "K", "--jail", "d", "--uid", "-1"), err, "a number");
    expect_error(PARSE_JAIL("--kernel", "K", "--jail", "d", "--gid", "4294967295"), err,
                 "a number");
    expect_error(PARSE_JAIL("--kernel", "K", "--jail", "d", "--uid", "12x"), err, "a number");
    expect_error(PARSE_JAIL("--kernel", "K", "--jail", "d", "--resource-limit", "cpu=1"), err,
                 "no-file=N");
    expect_error(PARSE_JAIL("--kernel", "K", "--jail", "d", "--resource-limit", "no-file=0"), err,
                 "positive");
    expect_error(PARSE_JAIL("--kernel", "K", "--jail", "d", "--resource-limit", "as=-5"), err,
                 "positive");
    assert_int_equal(PARSE_JAIL("--kernel", "K", "--level", "debug"), 0);
    assert_true(opt.logger.set);
    assert_int_equal(opt.logger.level, API_LOG_DEBUG);
    expect_error(PARSE_JAIL("--kernel", "K", "--level", "loud"), err, "--level takes");
#undef PARSE_JAIL
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),       cmocka_unit_test(test_all_options_both_spellings),
        cmocka_unit_test(test_sizes),          cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_disks_and_nics), cmocka_unit_test(test_shares),
        cmocka_unit_test(test_jail_options),   cmocka_unit_test(test_balloon),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
