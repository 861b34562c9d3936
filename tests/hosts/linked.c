/* A host linked to the sentinel plugin at build time: the loader finds
 * the plugin, and through its RPATH the bundled libpython. */
#include <stdio.h>

#include "sentinel.h"

int main(int argc, char **argv)
{
    int i;

    if (sentinel_init() != 0) {
        fprintf(stderr, "sentinel_init failed: %s\n", sentinel_init_error());
        return 1;
    }
    for (i = 1; i < argc; i++)
        printf("%d\n", evaluate(argv[i]));
    return 0;
}
