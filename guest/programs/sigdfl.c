/*
 * sigdfl: run a command with SIGINT and SIGQUIT at their default actions.
 *
 *   sigdfl COMMAND [ARGS...]
 *
 * /init starts the console shell in the background, and a shell without job
 * control starts background commands with SIGINT and SIGQUIT ignored; a
 * shell started so can never take them back, so Ctrl-C would stop nothing.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sigdfl COMMAND [ARGS...]\n");
        return 2;
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
