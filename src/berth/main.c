/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth: global flags, then one command. Commands are found by name, with docker's aliases
 * ("image ls" = "images", "container rm" = "rm", ...).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "berth.h"
#include "berth-monitor.h"
#include "image/imagestore.h"
#include "base/log.h"
#include "base/util.h"

struct alias {
        const char *words; /* "image ls" */
        const struct berth_cmd *cmd;
};

static const struct alias commands[] = {
    {"pull", &berth_cmd_pull},
    {"image pull", &berth_cmd_pull},
    {"images", &berth_cmd_images},
    {"image ls", &berth_cmd_images},
    {"image list", &berth_cmd_images},
    {"rmi", &berth_cmd_rmi},
    {"image rm", &berth_cmd_rmi},
    {"image inspect", &berth_cmd_image_inspect},
    {"image prune", &berth_cmd_image_prune},
    {"tag", &berth_cmd_tag},
    {"image tag", &berth_cmd_tag},
    {"load", &berth_cmd_load},
    {"image load", &berth_cmd_load},
    {"save", &berth_cmd_save},
    {"image save", &berth_cmd_save},
    {"import", &berth_cmd_import},
    {"image import", &berth_cmd_import},
    {"login", &berth_cmd_login},
    {"logout", &berth_cmd_logout},
    {"system df", &berth_cmd_system_df},
    {"run", &berth_cmd_run},
    {"container run", &berth_cmd_run},
    {"create", &berth_cmd_create},
    {"container create", &berth_cmd_create},
    {"start", &berth_cmd_start},
    {"container start", &berth_cmd_start},
    {"restart", &berth_cmd_restart},
    {"container restart", &berth_cmd_restart},
    {"rm", &berth_cmd_rm},
    {"container rm", &berth_cmd_rm},
    {"stop", &berth_cmd_stop},
    {"container stop", &berth_cmd_stop},
    {"kill", &berth_cmd_kill},
    {"container kill", &berth_cmd_kill},
    {"wait", &berth_cmd_wait},
    {"container wait", &berth_cmd_wait},
    {"attach", &berth_cmd_attach},
    {"container attach", &berth_cmd_attach},
    {"exec", &berth_cmd_exec},
    {"container exec", &berth_cmd_exec},
    {"top", &berth_cmd_top},
    {"container top", &berth_cmd_top},
    {"port", &berth_cmd_port},
    {"container port", &berth_cmd_port},
    {"logs", &berth_cmd_logs},
    {"container logs", &berth_cmd_logs},
    {"pause", &berth_cmd_pause},
    {"container pause", &berth_cmd_pause},
    {"unpause", &berth_cmd_unpause},
    {"container unpause", &berth_cmd_unpause},
    {"rename", &berth_cmd_rename},
    {"container rename", &berth_cmd_rename},
    {"events", &berth_cmd_events},
    {"system events", &berth_cmd_events},
    {"ps", &berth_cmd_ps},
    {"container ls", &berth_cmd_ps},
    {"container list", &berth_cmd_ps},
    {"inspect", &berth_cmd_inspect},
    {"container inspect", &berth_cmd_inspect},
    {"cp", &berth_cmd_cp},
    {"container cp", &berth_cmd_cp},
    {"stats", &berth_cmd_stats},
    {"container stats", &berth_cmd_stats},
    {"diff", &berth_cmd_diff},
    {"container diff", &berth_cmd_diff},
    {"commit", &berth_cmd_commit},
    {"container commit", &berth_cmd_commit},
};

/* libberth's warnings and --debug traces, on a close-on-exec duplicate of stderr (the container's
 * init also logs through it between clone and exec: one write(2) per line, no stdio). */
static int log_fd = -1;

static void log_handler(enum berth_log_level level, const char *msg, void *userdata)
{
        static const char *const prefix[] = {
            [BERTH_LOG_ERROR] = BERTH_PROG ": ",
            [BERTH_LOG_WARN] = BERTH_PROG ": warning: ",
            [BERTH_LOG_INFO] = BERTH_PROG ": ",
            [BERTH_LOG_DEBUG] = "",
        };
        char buf[4096];
        int saved = errno, n;

        n = snprintf(buf, sizeof(buf), "%s%s\n", prefix[level], msg);
        if (n > (int) sizeof(buf) - 1)
                n = (int) sizeof(buf) - 1, buf[n - 1] = '\n';
        if (n > 0)
                (void) !write(log_fd, buf, (size_t) n);
        errno = saved;
}

static void log_setup(void)
{
        log_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        if (log_fd >= 0)
                berth_log_set_handler(log_handler, NULL);
}

static void usage(FILE *f)
{
        const struct berth_cmd *last = NULL;

        fprintf(f, "Usage: " BERTH_PROG " [--root DIR] [--runroot DIR] [--debug] COMMAND\n\n"
                   "A daemonless container engine.\n\nCommands:\n");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
                if (commands[i].cmd == last)
                        continue;
                last = commands[i].cmd;
                fprintf(f, "  %-16s %s\n", commands[i].words, last->summary);
        }
        fprintf(f,
                "\nGlobal options:\n"
                "      --root DIR      image and container store (default " BERTH_DEFAULT_ROOT ")\n"
                "      --runroot DIR   runtime state (default " BERTH_DEFAULT_RUNROOT
                ", or ROOT/run with --root)\n"
                "      --debug         trace every kernel step\n");
}

/* "--name v", "--name=v": the value, advancing *i; NULL when argv[*i] is not that flag. */
static const char *global_value(const char *name, int argc, char **argv, int *i, bool *bad)
{
        size_t n = strlen(name);
        const char *a = argv[*i];

        if (strncmp(a, name, n) != 0)
                return NULL;
        if (a[n] == '=')
                return a + n + 1;
        if (a[n] != '\0')
                return NULL;
        if (*i + 1 >= argc) {
                fprintf(stderr, BERTH_PROG ": flag needs an argument: %s\n", name);
                *bad = true;
                return NULL;
        }
        return argv[++*i];
}

static int parse_globals(int argc, char **argv, struct berth_global *g, int *ret_next)
{
        bool bad = false;
        int i;

        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                const char *v;

                if ((v = global_value("--root", argc, argv, &i, &bad)))
                        g->root = v;
                else if ((v = global_value("--runroot", argc, argv, &i, &bad)))
                        g->runroot = v;
                else if ((v = global_value("--log-level", argc, argv, &i, &bad)))
                        g->debug = streq(v, "debug") || streq(v, "trace");
                else if (bad)
                        return -1;
                else if (streq(argv[i], "--debug") || streq(argv[i], "-D"))
                        g->debug = true;
                else if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        usage(stdout);
                        exit(0);
                } else if (streq(argv[i], "--version") || streq(argv[i], "-v")) {
                        printf(BERTH_PROG " version " BERTH_VERSION "\n");
                        exit(0);
                } else {
                        fprintf(stderr, BERTH_PROG ": unknown flag: %s\n", argv[i]);
                        return -1;
                }
        }
        if (bad)
                return -1;
        *ret_next = i;
        return 0;
}

/* The longest command whose words start argv. */
static const struct alias *find(int argc, char **argv, int *ret_words)
{
        for (int words = 2; words >= 1; words--) {
                _autofree_ char *joined = NULL;

                if (argc < words)
                        continue;
                joined = words == 2 ? xasprintf("%s %s", argv[0], argv[1]) : xstrdup(argv[0]);
                for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                        if (streq(commands[i].words, joined)) {
                                *ret_words = words;
                                return &commands[i];
                        }
        }
        return NULL;
}

int main(int argc, char **argv)
{
        struct berth_global g = {.root = BERTH_DEFAULT_ROOT, .argv = argv};
        _autofree_ char *runroot = NULL;
        const struct alias *a;
        int next, words, rc;

        if (streq(program_invocation_short_name, "berth-monitor"))
                return berth_monitor_stage(argc, argv);
        if (parse_globals(argc, argv, &g, &next) < 0)
                return BERTH_EXIT_ENGINE;
        if (next >= argc) {
                usage(stderr);
                return BERTH_EXIT_ENGINE;
        }
        if (!g.runroot)
                g.runroot = streq(g.root, BERTH_DEFAULT_ROOT)
                                ? BERTH_DEFAULT_RUNROOT
                                : (runroot = xasprintf("%s/run", g.root));
        log_setup();
        if (g.debug || getenv("BERTH_TRACE"))
                berth_trace_enable(true);
        a = find(argc - next, argv + next, &words);
        if (!a) {
                fprintf(stderr,
                        BERTH_PROG ": unknown command: \"%s\"\nSee '" BERTH_PROG " --help'.\n",
                        argv[next]);
                return BERTH_EXIT_ENGINE;
        }
        /* argv[0] of the command: its last word ("inspect" for "image inspect") */
        rc = a->cmd->run(&g, argc - next - words + 1, argv + next + words - 1);
        berth_store_free(g.store);
        return rc;
}
