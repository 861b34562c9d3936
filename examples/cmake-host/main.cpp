// A C++ host of the hello plugin: starts its Python explicitly, then calls
// the functions the plugin implements in Python like any C function.
#include <iostream>

#include "hello.h"

int main()
{
    if (hello_init() != 0) {
        std::cerr << "hello_init failed: " << hello_init_error() << '\n';
        return 1;
    }
    std::cout << add(40, 2) << '\n' << add(100, -5) << '\n';
    return 0;
}
