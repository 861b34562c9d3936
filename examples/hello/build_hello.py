"""The CFFI build script of the `hello` example plugin.

`embedpack build examples/hello/build_hello.py --app examples/hello/app`
turns it into a bundle; plain `python build_hello.py` still compiles it
the way CFFI alone would.
"""
import cffi

ffibuilder = cffi.FFI()

ffibuilder.embedding_api("""
    int add(int x, int y);
""")

ffibuilder.set_source("hello", "")

ffibuilder.embedding_init_code("""
    from hello import ffi
    import greeting

    @ffi.def_extern()
    def add(x, y):
        return greeting.add(x, y)
""")

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
