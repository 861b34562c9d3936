struct s { int x; ...; };
typedef ... t;
typedef int... n;
enum e { A, B, ... };
#define X ...
static const int Y;
int a[...];
extern "Python" int cb(int);
_Bool f(size_t, FILE *); /* c */ // d
