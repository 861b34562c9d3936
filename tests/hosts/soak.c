/* A host for the soak (tests/bench/soak.sh, tests/it/soak.rs): THREADS
 * threads wait on a barrier and then all make their first call into the
 * plugin at the same instant, so that the plugin's Python starts while
 * every one of them asks for it.  Thread i evaluates
 * `checks.isolated() * 1000 + i` and must get 1000 + i: its own answer,
 * from a Python that started from the bundle and nothing else.
 *
 * usage: soak THREADS PLUGIN   dlopen(PLUGIN, RTLD_NOW | RTLD_LOCAL)
 *        soak THREADS          compiled with -DSOAK_LINKED and linked to
 *                              the plugin at build time (its header,
 *                              -lsentinel and an rpath to the bundle)
 *
 * Prints "ok: THREADS threads" and exits 0 when every thread got its
 * answer; else prints one line per thread that did not, and exits 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef SOAK_LINKED
#include "sentinel.h"
#else
#include <dlfcn.h>
static int (*evaluate)(const char *);
#endif

#define MAX_THREADS 256

struct call {
    pthread_t id;
    int index;
    int answer;
};

static pthread_barrier_t barrier;

static void *first_call(void *argument)
{
    struct call *call = argument;
    char expression[64];

    snprintf(expression, sizeof expression, "checks.isolated() * 1000 + %d", call->index);
    pthread_barrier_wait(&barrier);
    call->answer = evaluate(expression);
    return NULL;
}

/* Loads the plugin, unless it was linked at build time. */
static int load(int argc, char **argv)
{
#ifdef SOAK_LINKED
    (void)argv;
    if (argc != 2) {
        fprintf(stderr, "usage: %s THREADS (this host is linked to its plugin)\n", argv[0]);
        return -1;
    }
#else
    void *plugin;

    if (argc != 3) {
        fprintf(stderr, "usage: %s THREADS PLUGIN\n", argv[0]);
        return -1;
    }
    plugin = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (plugin == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    *(void **)&evaluate = dlsym(plugin, "evaluate");
    if (evaluate == NULL) {
        fprintf(stderr, "dlsym %s evaluate: %s\n", argv[2], dlerror());
        return -1;
    }
#endif
    return 0;
}

int main(int argc, char **argv)
{
    static struct call calls[MAX_THREADS];
    int threads, i, created, wrong = 0;

    if (load(argc, argv) != 0)
        return 2;
    threads = atoi(argv[1]);
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "%s: THREADS must be from 1 to %d, not %s\n", argv[0], MAX_THREADS, argv[1]);
        return 2;
    }
    if (pthread_barrier_init(&barrier, NULL, (unsigned)threads) != 0) {
        perror("pthread_barrier_init");
        return 1;
    }
    for (created = 0; created < threads; created++) {
        calls[created].index = created;
        if (pthread_create(&calls[created].id, NULL, first_call, &calls[created]) != 0) {
            /* The barrier waits for all: without this thread, none would go. */
            fprintf(stderr, "pthread_create failed for thread %d; the others stay at the barrier\n",
                    created);
            return 1;
        }
    }
    for (i = 0; i < threads; i++)
        pthread_join(calls[i].id, NULL);
    for (i = 0; i < threads; i++) {
        if (calls[i].answer != 1000 + i) {
            printf("thread %d: got %d, expected %d\n", i, calls[i].answer, 1000 + i);
            wrong++;
        }
    }
    if (wrong != 0)
        return 1;
    printf("ok: %d threads\n", threads);
    return 0;
}
