
    #define SCALE ...
    #define VERSION_MAJOR 3
    typedef struct { int x; int y; ...; } point_t;   /* fields: the C source's */
    typedef ... handle_t;
    enum shape { SQUARE, CIRCLE, ... };
    typedef int... count_t;
    static const int LIMIT;
    int table[...];
    const char *greeting;

    point_t *point_new(int x, int y);
    int point_sum(const point_t *p);
    extern "Python" bool is_big(int64_t value, size_t limit);
    extern "Python+C" {
        int handle_count(handle_t *h);
    }
