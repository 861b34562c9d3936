/* embedpack's bootstrap, as the plugin's code sees it.
 *
 * The generated CFFI source is edited (see cffi_embedding.patch) to call
 * these functions; everything here has hidden visibility, so that
 * several bundles in one process never share a symbol of ours.
 */
#ifndef EMBEDPACK_H
#define EMBEDPACK_H

#define EMBEDPACK_HIDDEN __attribute__((visibility("hidden")))

/* Start Python from the bundle.  Called at most once per process by
 * CFFI's start-up code, under its process-wide lock and without the GIL,
 * when no interpreter runs yet.  Returns 0 on success; on failure, -1
 * after printing one paragraph that names the bundle. */
EMBEDPACK_HIDDEN int embedpack_initialize(void);

/* Whether the Python that the plugin's calls reach is the one it was
 * built for.  Called by CFFI's start-up code before its start-up lock,
 * every time.  Returns 0, or -1 after printing why not. */
EMBEDPACK_HIDDEN int embedpack_check_python(void);

/* Gives up the CPU to the thread that starts Python: called by each turn
 * of CFFI's spinning start-up lock, without the GIL. */
EMBEDPACK_HIDDEN void embedpack_wait_turn(void);

/* Make the bundle's modules importable in the running interpreter.
 * Called with the GIL held before CFFI imports `_cffi_backend`, whoever
 * started Python.  Returns 0, or -1 with a Python exception set. */
EMBEDPACK_HIDDEN int embedpack_attach(void);

/* Why the bundle could not start, or "" when it did not fail. */
EMBEDPACK_HIDDEN const char *embedpack_error(void);

#endif
