/* A C program that uses the hello plugin like any other shared library. */
#include <stdio.h>

#include "hello.h"

int main(void)
{
    printf("%d\n", add(40, 2));
    printf("%d\n", add(100, -5));
    return 0;
}
