/* Loads two bundles into one process with dlopen(RTLD_LOCAL): the hello
 * plugin first (it starts Python), then the sentinel plugin (it joins the
 * running interpreter), and calls each.
 *
 * usage: two_plugins LIBHELLO LIBSENTINEL EXPRESSION...
 */
#include <dlfcn.h>
#include <stdio.h>

static void *load(const char *path, const char *symbol)
{
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    void *function = library ? dlsym(library, symbol) : NULL;

    if (function == NULL)
        fprintf(stderr, "%s: %s\n", path, dlerror());
    return function;
}

int main(int argc, char **argv)
{
    int (*add)(int, int);
    int (*evaluate)(const char *);
    int i;

    if (argc < 3) {
        fprintf(stderr, "usage: %s LIBHELLO LIBSENTINEL EXPRESSION...\n", argv[0]);
        return 2;
    }
    add = (int (*)(int, int))load(argv[1], "add");
    evaluate = (int (*)(const char *))load(argv[2], "evaluate");
    if (add == NULL || evaluate == NULL)
        return 1;
    printf("%d\n", add(40, 2));
    for (i = 3; i < argc; i++)
        printf("%d\n", evaluate(argv[i]));
    return 0;
}
