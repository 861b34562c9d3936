"""The app side of the `hello` example: plain Python the plugin calls into."""


def add(x, y):
    return x + y
