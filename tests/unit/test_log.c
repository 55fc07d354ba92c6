/* The VMM log's level check and the rate limit for lines a guest causes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "vmm/log.h"

static void test_enabled_follows_the_level(void **state)
{
    (void)state;
    struct vmm_log log;
    vmm_log_init(&log, "t");
    assert_true(vmm_log_enabled(&log, API_LOG_INFO));
    assert_false(vmm_log_enabled(&log, API_LOG_DEBUG));
    char err[128];
    struct api_logger debug = {.level = API_LOG_DEBUG};
    assert_int_equal(vmm_log_configure(&log, &debug, err, sizeof(err)), 0);
    assert_true(vmm_log_enabled(&log, API_LOG_DEBUG));
    assert_false(vmm_log_enabled(&log, API_LOG_TRACE));
    vmm_log_close(&log);
}

static void test_limit_lets_ten_a_second_through_and_counts_the_rest(void **state)
{
    (void)state;
    struct vmm_log_limit limit = {0};
    uint64_t dropped = 99;
    /* Stay inside one second of CLOCK_MONOTONIC_COARSE for the burst. */
    struct timespec t;
    do
        clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    while (t.tv_nsec > 500000000);
    for (unsigned i = 0; i < VMM_LOG_LIMIT_PER_SECOND; i++) {
        assert_true(vmm_log_limit_take(&limit, &dropped));
        assert_int_equal(dropped, 0);
    }
    for (unsigned i = 0; i < 25; i++)
        assert_false(vmm_log_limit_take(&limit, &dropped));
    /* The next second: one line again, saying how many were held back. */
    struct timespec wait = {1, 100000000};
    nanosleep(&wait, NULL);
    assert_true(vmm_log_limit_take(&limit, &dropped));
    assert_int_equal(dropped, 25);
    assert_true(vmm_log_limit_take(&limit, &dropped));
    assert_int_equal(dropped, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enabled_follows_the_level),
        cmocka_unit_test(test_limit_lets_ten_a_second_through_and_counts_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
