/*
 * timeit: wall time of one command, measured inside the guest with
 * CLOCK_MONOTONIC (busybox `time` only has 10 ms resolution).
 *
 *   timeit LABEL COMMAND [ARGS...]
 *
 * Prints "timeit: LABEL MS ms status S" and exits with the command's status.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: timeit LABEL COMMAND [ARGS...]\n");
        return 2;
    }
    fflush(stdout);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        perror("timeit: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("timeit: exec");
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) {
        perror("timeit: wait");
        return 1;
    }
    double ms = now_ms() - t0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("timeit: %s %.1f ms status %d\n", argv[1], ms, code);
    return code;
}
