/* The plugin's translation unit: CFFI's generated source, edited to call
 * the bootstrap, plus the start-up functions a host may call itself.
 *
 * Compiled with EMBEDPACK_GENERATED (the generated file's name),
 * EMBEDPACK_INIT (`<module>_init`) and EMBEDPACK_INIT_ERROR
 * (`<module>_init_error`) defined (`embedpack_<name>_init` for a module
 * `_<name>`).
 */
#include "embedpack.h"
#include EMBEDPACK_GENERATED

static int init_failed;

/* Starts Python and runs the plugin's init code if that has not happened
 * yet.  Returns 0 when the plugin is ready, -1 when it cannot start. */
CFFI_DLLEXPORT int EMBEDPACK_INIT(void)
{
    int result = cffi_start_python();
    init_failed = result != 0;
    return result;
}

/* Why EMBEDPACK_INIT() failed, or "" when it has not. */
CFFI_DLLEXPORT const char *EMBEDPACK_INIT_ERROR(void)
{
    const char *error = embedpack_error();
    if (error[0] == '\0' && init_failed)
        return "the plugin's init code raised an exception (its traceback went to stderr)";
    return error;
}
