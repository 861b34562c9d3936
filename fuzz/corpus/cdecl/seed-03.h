
    int evaluate(const char *expression);
