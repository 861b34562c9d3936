/* A host that times a plugin's first call and then its calls in a loop,
 * for benchmarks/compare.sh.  It loads the plugin as most plugin hosts do
 * (dlopen() with RTLD_NOW | RTLD_LOCAL) and reads CLOCK_MONOTONIC just
 * before the first dlopen() and just after the first call returns: what
 * that span holds is loading the plugin and what it needs, Python's
 * start-up and the plugin's init code, and one call.  Then it makes CALLS
 * more calls and divides their time by CALLS.  It also reads
 * CLOCK_PROCESS_CPUTIME_ID over both spans: CPU time, which another
 * process's load changes less than wall time.
 *
 * usage: first_call [--global LIB] PLUGIN CALLS evaluate EXPRESSION
 *        first_call [--global LIB] PLUGIN CALLS add1
 *
 * `evaluate` calls the sentinel plugin's `int evaluate(const char *)`
 * with EXPRESSION every time; `add1` calls the `int add1(int, int)` of
 * CFFI's perf.py plugin with (i, 1).  With --global, the host first
 * dlopen()s LIB with RTLD_LAZY | RTLD_GLOBAL, inside the timed span: the
 * workaround CFFI's embedding docs give for extension modules that do not
 * name libpython (a plugin built by hand needs it; a bundle does not).
 *
 * Prints one line:
 *   first_call_ns N first_call_cpu_ns C per_call_ns X per_call_cpu_ns Y result R
 * R being what the first call returned.  Exits 1, saying why, when a
 * library does not load, the symbol is missing, or a later call returns
 * something else than the first.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*evaluate_fn)(const char *);
typedef int (*add1_fn)(int, int);

static long long now_ns(clockid_t clock)
{
    struct timespec t;

    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static double per_call(long long span, long calls)
{
    return calls > 0 ? (double)span / (double)calls : 0.0;
}

static void *symbol(const char *library, int flags, const char *name)
{
    void *handle = dlopen(library, flags);
    void *found;

    if (handle == NULL) {
        fprintf(stderr, "first_call: dlopen: %s\n", dlerror());
        return NULL;
    }
    if (name == NULL)
        return handle;
    found = dlsym(handle, name);
    if (found == NULL)
        fprintf(stderr, "first_call: dlsym: %s\n", dlerror());
    return found;
}

/* The loop after the first call; returns 0 when every call agreed. */
static int evaluate_loop(evaluate_fn evaluate, long calls, const char *expression, int first)
{
    long i;

    for (i = 0; i < calls; i++) {
        if (evaluate(expression) != first) {
            fprintf(stderr, "first_call: call %ld of `%s` returned another value\n", i, expression);
            return 1;
        }
    }
    return 0;
}

static int add1_loop(add1_fn add1, long calls)
{
    long i;

    for (i = 0; i < calls; i++) {
        if (add1((int)i, 1) != (int)i + 1) {
            fprintf(stderr, "first_call: add1(%ld, 1) returned another value\n", i);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *global = NULL, *plugin, *kind, *expression = NULL;
    long long start, cpu_start, first_done, cpu_done, loop_done, cpu_loop_done;
    long calls;
    void *function;
    int result, failed, i = 1;

    if (argc > 2 && strcmp(argv[1], "--global") == 0) {
        global = argv[2];
        i = 3;
    }
    if (argc - i < 3 || (strcmp(argv[i + 2], "evaluate") == 0 && argc - i != 4) ||
        (strcmp(argv[i + 2], "add1") == 0 && argc - i != 3) ||
        (strcmp(argv[i + 2], "evaluate") != 0 && strcmp(argv[i + 2], "add1") != 0)) {
        fprintf(stderr,
                "usage: %s [--global LIB] PLUGIN CALLS evaluate EXPRESSION\n"
                "       %s [--global LIB] PLUGIN CALLS add1\n",
                argv[0], argv[0]);
        return 2;
    }
    plugin = argv[i];
    calls = atol(argv[i + 1]);
    kind = argv[i + 2];
    if (strcmp(kind, "evaluate") == 0)
        expression = argv[i + 3];

    start = now_ns(CLOCK_MONOTONIC);
    cpu_start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (global != NULL && symbol(global, RTLD_LAZY | RTLD_GLOBAL, NULL) == NULL)
        return 1;
    function = symbol(plugin, RTLD_NOW | RTLD_LOCAL, kind);
    if (function == NULL)
        return 1;
    if (expression != NULL)
        result = ((evaluate_fn)function)(expression);
    else
        result = ((add1_fn)function)(-1, 1);
    cpu_done = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    first_done = now_ns(CLOCK_MONOTONIC);

    if (expression != NULL)
        failed = evaluate_loop((evaluate_fn)function, calls, expression, result);
    else
        failed = add1_loop((add1_fn)function, calls);
    loop_done = now_ns(CLOCK_MONOTONIC);
    cpu_loop_done = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (failed)
        return 1;
    printf("first_call_ns %lld first_call_cpu_ns %lld per_call_ns %.1f per_call_cpu_ns %.1f "
           "result %d\n",
           first_done - start, cpu_done - cpu_start, per_call(loop_done - first_done, calls),
           per_call(cpu_loop_done - cpu_done, calls), result);
    return 0;
}
