/* sim_main.c - dynis-sim, the simulator's driver.
 *
 *   dynis-sim [--seed S] [--nodes 5] [--faults none|net|crash|all] [--ops 20000]
 *             [--n 3 --r 2 --w 2] [--budget BYTES_PER_SEC]
 *             [--sweep COUNT [--first-seed S]]
 *             [--break MECHANISM] [--verbose]
 *
 * One run prints its summary; a sweep runs COUNT consecutive seeds (summaries
 * only for failing seeds), stops at the first violation and prints its seed.
 * Output is a function of the options only, so a seed replays byte for byte;
 * the wall-clock rate goes to stderr. Exit status: 0 without violations, 1
 * with, 2 on a usage error. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static void usage(void)
{
    fprintf(stderr, "usage: dynis-sim [--seed S] [--nodes 3..9] [--faults none|net|crash|all]\n"
                    "                 [--ops N] [--n N --r R --w W] [--budget BYTES_PER_SEC]\n"
                    "                 [--sweep COUNT]\n"
                    "                 [--first-seed S] [--break none|ack-before-w|"
                    "merge-drops-sibling|no-forward|hint-drop|early-reap]\n"
                    "                 [--verbose]\n");
    exit(2);
}

static uint64_t parse_u64(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == 0 || *end != 0)
        usage();
    return v;
}

static enum sim_faults parse_faults(const char *s)
{
    static const char *names[] = {"none", "net", "crash", "all"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0)
            return (enum sim_faults)i;
    }
    usage();
    return SIM_FAULTS_NONE;
}

typedef struct args {
    sim_options_t opts;
    uint64_t sweep;
    uint64_t first_seed;
} args_t;

static void parse_args(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof *a);
    a->opts = (sim_options_t){.seed = 1, .nodes = 5, .faults = SIM_FAULTS_ALL, .ops = 20000,
                              .n = 3, .r = 2, .w = 2,
                              .budget = NODE_BACKGROUND_BYTES_PER_SEC};
    a->first_seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--verbose") == 0) {
            a->opts.verbose = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(o, "--seed") == 0) a->opts.seed = parse_u64(v);
        else if (strcmp(o, "--nodes") == 0) a->opts.nodes = (uint32_t)parse_u64(v);
        else if (strcmp(o, "--faults") == 0) a->opts.faults = parse_faults(v);
        else if (strcmp(o, "--ops") == 0) a->opts.ops = (uint32_t)parse_u64(v);
        else if (strcmp(o, "--n") == 0) a->opts.n = (uint32_t)parse_u64(v);
        else if (strcmp(o, "--r") == 0) a->opts.r = (uint32_t)parse_u64(v);
        else if (strcmp(o, "--w") == 0) a->opts.w = (uint32_t)parse_u64(v);
        else if (strcmp(o, "--budget") == 0) a->opts.budget = parse_u64(v);
        else if (strcmp(o, "--sweep") == 0) a->sweep = parse_u64(v);
        else if (strcmp(o, "--first-seed") == 0) a->first_seed = parse_u64(v);
        else if (strcmp(o, "--break") == 0) {
            if (!sim_break_parse(v, &a->opts.brk))
                usage();
        } else
            usage();
    }
    if (a->opts.nodes < 3 || a->opts.nodes > 9 || a->opts.n < 1 || a->opts.n > 9 ||
        a->opts.r < 1 || a->opts.w < 1 || a->opts.r > a->opts.n || a->opts.w > a->opts.n)
        usage();
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The wall-clock rate goes to stderr: stdout must replay byte for byte. */
static void print_rate(uint64_t ops, double start)
{
    fflush(stdout);
    fprintf(stderr, "%.0f simulated ops/s\n", (double)ops / (wall_seconds() - start));
}

static int sweep(args_t *a)
{
    uint64_t ops = 0, passed = 0;
    double start = wall_seconds();
    for (uint64_t k = 0; k < a->sweep; k++) {
        a->opts.seed = a->first_seed + k;
        sim_summary_t sum;
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        uint64_t v = sim_run(&a->opts, &sum, mem);
        fclose(mem);
        ops += sum.ops;
        if (v > 0) {
            fputs(text, stdout);
            printf("sweep: seed %" PRIu64 " failed after %" PRIu64 " passing seeds\n",
                   a->opts.seed, passed);
            free(text);
            print_rate(ops, start);
            return 1;
        }
        free(text);
        passed++;
    }
    printf("sweep: %" PRIu64 " seeds from %" PRIu64 " (%s), no violation\n", passed,
           a->first_seed, sim_faults_name(a->opts.faults));
    print_rate(ops, start);
    return 0;
}

int main(int argc, char **argv)
{
    args_t a;
    parse_args(argc, argv, &a);
    if (a.sweep > 0)
        return sweep(&a);
    sim_summary_t sum;
    double start = wall_seconds();
    uint64_t v = sim_run(&a.opts, &sum, stdout);
    print_rate(sum.ops, start);
    return v > 0 ? 1 : 0;
}
