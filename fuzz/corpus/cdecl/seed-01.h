
    /* Receives the result of a call: text, or an error message. */
    typedef void (*pyudf_result)(void *context, const char *text, int is_error);

    /* `text` escaped for HTML, by markupsafe. */
    void pyudf_html_escape(const char *text, pyudf_result result, void *context);

    /* The Unicode names of the characters of `text`, comma-separated. */
    void pyudf_unicode_name(const char *text, pyudf_result result, void *context);
