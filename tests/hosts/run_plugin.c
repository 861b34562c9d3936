/* A host that loads a plugin the way most plugin hosts do: dlopen() with
 * RTLD_LOCAL.  It calls the plugin's `int evaluate(const char *)` once per
 * expression and prints each result.
 *
 * usage: run_plugin PLUGIN [--chdir DIR] [--threads N] EXPRESSION...
 *
 * With --chdir, the host changes directory after loading the plugin and
 * before its first call.  With --threads N, N threads make the first call
 * (the first expression) at the same instant.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*evaluate_fn)(const char *);

static evaluate_fn evaluate;
static pthread_barrier_t barrier;
static const char *first_expression;

static void *first_call(void *result)
{
    pthread_barrier_wait(&barrier);
    *(int *)result = evaluate(first_expression);
    return NULL;
}

static int call_at_once(int threads)
{
    pthread_t ids[64];
    int results[64];
    int i;

    if (threads > 64)
        threads = 64;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (i = 0; i < threads; i++)
        pthread_create(&ids[i], NULL, first_call, &results[i]);
    for (i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    for (i = 1; i < threads; i++) {
        if (results[i] != results[0]) {
            printf("threads disagree: %d != %d\n", results[i], results[0]);
            return 1;
        }
    }
    printf("%d (%d threads)\n", results[0], threads);
    return 0;
}

int main(int argc, char **argv)
{
    const char *chdir_to = NULL;
    int threads = 0, i = 2;
    void *plugin;

    if (argc < 3) {
        fprintf(stderr, "usage: %s PLUGIN [--chdir DIR] [--threads N] EXPRESSION...\n", argv[0]);
        return 2;
    }
    plugin = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (plugin == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    evaluate = (evaluate_fn)dlsym(plugin, "evaluate");
    if (evaluate == NULL) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--chdir") == 0)
            chdir_to = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
    }
    if (chdir_to != NULL && chdir(chdir_to) != 0) {
        perror("chdir");
        return 1;
    }
    if (threads > 0 && i < argc) {
        first_expression = argv[i++];
        if (call_at_once(threads) != 0)
            return 1;
    }
    for (; i < argc; i++)
        printf("%d\n", evaluate(argv[i]));
    return 0;
}
