/*
 * smpcheck: atomics across harts. Threads hammer one counter with AMOs and
 * another with an LR/SC loop; any lost update (a broken reservation, a
 * non-atomic AMO) shows up as a wrong total.
 *
 *   smpcheck [THREADS] [ITERATIONS]    defaults: one thread per CPU, 200000
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t amo_counter;
static uint64_t lrsc_counter;
static unsigned long iterations = 200000;

static void lrsc_increment(uint64_t *p)
{
    uint64_t old, fail;
    __asm__ volatile("1: lr.d %0, (%2)\n"
                     "   addi %0, %0, 1\n"
                     "   sc.d %1, %0, (%2)\n"
                     "   bnez %1, 1b\n"
                     : "=&r"(old), "=&r"(fail)
                     : "r"(p)
                     : "memory");
}

static void *worker(void *arg)
{
    (void)arg;
    for (unsigned long i = 0; i < iterations; i++) {
        __atomic_fetch_add(&amo_counter, 1, __ATOMIC_RELAXED);
        lrsc_increment(&lrsc_counter);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long threads = argc > 1 ? strtol(argv[1], NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (argc > 2)
        iterations = strtoul(argv[2], NULL, 10);
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "smpcheck: THREADS must be 1..64\n");
        return 2;
    }
    pthread_t tid[64];
    for (long t = 0; t < threads; t++)
        if (pthread_create(&tid[t], NULL, worker, NULL)) {
            fprintf(stderr, "smpcheck: pthread_create failed\n");
            return 1;
        }
    for (long t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
    uint64_t want = (uint64_t)threads * iterations;
    int ok = amo_counter == want && lrsc_counter == want;
    printf("smpcheck: %ld threads, amo %llu, lr/sc %llu, want %llu: %s\n", threads,
           (unsigned long long)amo_counter, (unsigned long long)lrsc_counter,
           (unsigned long long)want, ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
