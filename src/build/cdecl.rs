//! CFFI's declaration language made into C for the generated header.
//!
//! `embedding_api()` takes CFFI's cdef syntax, which is C plus forms whose
//! details CFFI leaves to the C compiler that builds the plugin: `...` in
//! a struct or union (`struct s { int x; ...; };`), an opaque
//! `typedef ... t;`, an integer or float type of unknown size
//! (`typedef int... t;`), an enum with `...` among its values, a constant
//! `#define X ...` or `static const int X;`, an array length `[...]`, and
//! `extern "Python"`.  A header can only say what is true, so:
//!
//! * partial structs and unions, and `typedef ... t`, become incomplete
//!   types: a host uses them through pointers, as it must anyway;
//! * `[...]` becomes `[]`, `extern "Python"` is dropped (embedding_api
//!   exports the function either way), `_Bool` becomes `bool`, and a
//!   global variable gets the `extern` that C needs;
//! * what has no C form without its value — `#define X ...`,
//!   `static const T X;`, partial enums, `typedef int... t` — is left out,
//!   with a comment naming it.  A declaration that then uses it no longer
//!   compiles: the build stops there (see `header::check`).
//!
//! Everything else, comments included, is copied as written.

use std::ops::Range;

/// The header's body and the standard headers its declarations need.
#[derive(Debug, PartialEq)]
pub struct Rewritten {
    pub text: String,
    pub includes: Vec<Include>,
}

/// A standard header, included for C only or for both C and C++.
#[derive(Debug, PartialEq, Clone, Copy)]
pub struct Include {
    pub name: &'static str,
    pub c_only: bool,
}

/// Types of CFFI's cdef that need a standard header in C: (type names,
/// header, whether for C only).
const TYPE_HEADERS: &[(&str, &str, bool)] = &[
    ("size_t ptrdiff_t wchar_t", "stddef.h", false),
    (
        "int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t \
         intptr_t uintptr_t intmax_t uintmax_t \
         int_least8_t int_least16_t int_least32_t int_least64_t \
         uint_least8_t uint_least16_t uint_least32_t uint_least64_t \
         int_fast8_t int_fast16_t int_fast32_t int_fast64_t \
         uint_fast8_t uint_fast16_t uint_fast32_t uint_fast64_t",
        "stdint.h",
        false,
    ),
    ("bool _Bool", "stdbool.h", true),
    ("ssize_t", "sys/types.h", false),
    ("FILE", "stdio.h", false),
    ("char16_t char32_t", "uchar.h", true),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Ident,
    Punct,
    Ellipsis,
    Literal,
    Directive,
}

#[derive(Debug, Clone)]
struct Token {
    span: Range<usize>,
    kind: Kind,
}

/// Rewrites `text`, the declarations given to `embedding_api()`.
pub fn rewrite(text: &str) -> Rewritten {
    let code = blank_comments(text);
    let tokens = tokenize(&code);
    let word = |t: &Token| &code[t.span.clone()];
    let mut out = String::new();
    let mut cursor = 0;
    let mut used = Vec::new();
    for item in split(&tokens, &code) {
        let first = &tokens[item.tokens.start];
        out += &text[cursor..first.span.start];
        cursor = item.end;
        let toks = &tokens[item.tokens.clone()];
        used.extend(toks.iter().map(word));
        match item.role {
            Role::Dropped => {}
            Role::Directive => out += &directive(text, &code, first),
            Role::Declaration => out += &declaration(text, &code, toks, item.end),
        }
    }
    out += &text[cursor..];
    let includes = TYPE_HEADERS
        .iter()
        .filter(|(names, ..)| names.split_whitespace().any(|n| used.contains(&n)))
        .map(|&(_, name, c_only)| Include { name, c_only })
        .collect();
    Rewritten {
        text: out,
        includes,
    }
}

/// `text` with every comment replaced by spaces, byte for byte, so that
/// positions in it are positions in `text`.
fn blank_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', Some(b'/')) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                for byte in &mut out[i..end] {
                    if *byte != b'\n' {
                        *byte = b' ';
                    }
                }
                i = end;
            }
            (b'"' | b'\'', _) => i = literal_end(bytes, i),
            _ => i += 1,
        }
    }
    // Only ASCII bytes were replaced, by ASCII bytes, and never part of a
    // multi-byte character: the result is valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// The end of the string or character literal starting at `start`.
fn literal_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    (i + 1).min(bytes.len())
}

fn tokenize(code: &str) -> Vec<Token> {
    let bytes = code.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        } else if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'#' && line_start {
            // A directive runs to the end of its line, continuations included.
            while i < bytes.len() && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = i.min(bytes.len());
            Kind::Directive
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Kind::Ident
        } else if bytes[i..].starts_with(b"...") {
            i += 3;
            Kind::Ellipsis
        } else if c == b'"' || c == b'\'' {
            i = literal_end(bytes, i);
            Kind::Literal
        } else {
            i += 1;
            while i < bytes.len() && bytes[i] & 0xC0 == 0x80 {
                i += 1;
            }
            Kind::Punct
        };
        line_start = false;
        tokens.push(Token {
            span: start..i,
            kind,
        });
    }
    tokens
}

enum Role {
    Directive,
    Declaration,
    /// `extern "Python" {` and its closing `}`.
    Dropped,
}

struct Item {
    tokens: Range<usize>,
    /// The byte after the item's last token.
    end: usize,
    role: Role,
}

/// Splits the tokens into directives and `;`-terminated declarations.
fn split(tokens: &[Token], code: &str) -> Vec<Item> {
    let word = |i: usize| &code[tokens[i].span.clone()];
    let mut items = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    let mut python_block = false;
    let mut i = 0;
    while i < tokens.len() {
        let item = |end: usize, role| Item {
            tokens: start..end + 1,
            end: tokens[end].span.end,
            role,
        };
        if tokens[i].kind == Kind::Directive && i == start {
            items.push(item(i, Role::Directive));
            start = i + 1;
        } else if depth == 0
            && i == start + 2
            && word(start) == "extern"
            && matches!(word(start + 1), "\"Python\"" | "\"Python+C\"")
            && word(i) == "{"
        {
            items.push(item(i, Role::Dropped));
            python_block = true;
            start = i + 1;
        } else if depth == 0 && python_block && i == start && word(i) == "}" {
            let end = if i + 1 < tokens.len() && word(i + 1) == ";" {
                i + 1
            } else {
                i
            };
            items.push(item(end, Role::Dropped));
            python_block = false;
            i = end;
            start = end + 1;
        } else {
            match word(i) {
                "{" | "(" | "[" => depth += 1,
                "}" | ")" | "]" => depth = depth.saturating_sub(1),
                ";" if depth == 0 => {
                    items.push(item(i, Role::Declaration));
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    if start < tokens.len() {
        let last = tokens.len() - 1;
        items.push(Item {
            tokens: start..tokens.len(),
            end: tokens[last].span.end,
            role: Role::Declaration,
        });
    }
    items
}

/// `#define X ...` is left out; other directives are kept.
fn directive(text: &str, code: &str, token: &Token) -> String {
    let words: Vec<&str> = code[token.span.clone()]
        .trim_start_matches('#')
        .split_whitespace()
        .collect();
    if words.len() == 3 && words[0] == "define" && words[2] == "..." {
        return left_out(&code[token.span.clone()]);
    }
    text[token.span.clone()].to_string()
}

fn left_out(code: &str) -> String {
    let shown = code.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("/* left out: `{shown}` (CFFI takes it from the plugin's C source) */")
}

fn incomplete(declaration: String) -> String {
    format!(
        "/* incomplete here: CFFI takes its fields from the plugin's C source */\n{declaration}"
    )
}

/// One declaration, `toks` without its `;` if it has one; `end` is the
/// byte after it.
fn declaration(text: &str, code: &str, toks: &[Token], end: usize) -> String {
    let start = toks[0].span.start;
    let original = &code[start..end];
    let word = |t: &Token| &code[t.span.clone()];
    let has_semicolon = toks.last().is_some_and(|t| word(t) == ";");
    let body = if has_semicolon {
        &toks[..toks.len() - 1]
    } else {
        toks
    };
    // `extern "Python"` adds nothing to an embedding_api() declaration.
    let (skip, body) = match body {
        [e, p, rest @ ..]
            if word(e) == "extern" && matches!(word(p), "\"Python\"" | "\"Python+C\"") =>
        {
            (
                Some(e.span.start..rest.first().map_or(end, |t| t.span.start)),
                rest,
            )
        }
        _ => (None, body),
    };
    if body.is_empty() {
        return String::new();
    }
    let words: Vec<&str> = body.iter().map(word).collect();
    let tail_text = |from: usize| {
        let first = body[from].span.start;
        let last = body[body.len() - 1].span.end;
        code[first..last]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let is_typedef = words[0] == "typedef";
    if is_typedef && words.get(1) == Some(&"...") {
        return match &words[2..] {
            [name] if is_ident(name) => incomplete(format!("typedef struct {name} {name};")),
            ["*", name] if is_ident(name) => {
                incomplete(format!("typedef struct {name}_opaque *{name};"))
            }
            _ => left_out(original),
        };
    }
    if let Some(open) = words.iter().position(|w| *w == "{") {
        let close = matching(&words, open).unwrap_or(words.len() - 1);
        let head = &words[usize::from(is_typedef)..open];
        if cffi_ellipses(&words).any(|i| i > open && i < close) {
            let kind = head.first().copied().unwrap_or("");
            if kind == "struct" || kind == "union" {
                let tail = if close + 1 < body.len() {
                    tail_text(close + 1)
                } else {
                    String::new()
                };
                let tag = head
                    .get(1)
                    .copied()
                    .or_else(|| words[close + 1..].iter().copied().find(|w| is_ident(w)));
                return match (tag, is_typedef, tail.is_empty()) {
                    (Some(tag), true, _) => incomplete(format!("typedef {kind} {tag} {tail};")),
                    (Some(tag), false, true) => incomplete(format!("{kind} {tag};")),
                    (Some(tag), false, false) => incomplete(format!("extern {kind} {tag} {tail};")),
                    (None, ..) => left_out(original),
                };
            }
            return left_out(original);
        }
    } else if !ellipses_are_c(&words) {
        return left_out(original);
    }
    if words[0] == "static" && words.contains(&"const") && !words.contains(&"=") {
        return left_out(original);
    }
    let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
    if let Some(span) = skip {
        edits.push((span, ""));
    }
    for (i, t) in body.iter().enumerate() {
        match word(t) {
            "_Bool" => edits.push((t.span.clone(), "bool")),
            "..." if i > 0 && words[i - 1] == "[" => edits.push((t.span.clone(), "")),
            _ => {}
        }
    }
    if is_variable(&words) {
        let at = body[0].span.start;
        edits.push((at..at, "extern "));
    }
    apply(text, start..end, edits)
}

/// Whether every `...` in a brace-less declaration that is CFFI's is an
/// array length (made `[]` later).
fn ellipses_are_c(words: &[&str]) -> bool {
    cffi_ellipses(words).all(|i| i > 0 && words[i - 1] == "[" && words.get(i + 1) == Some(&"]"))
}

/// Where `words` has a `...` of CFFI's: every one but C's own variadic
/// `, ...` in a parameter list.
fn cffi_ellipses<'a>(words: &'a [&str]) -> impl Iterator<Item = usize> + 'a {
    let mut parens = 0usize;
    words.iter().enumerate().filter_map(move |(i, w)| {
        match *w {
            "(" => parens += 1,
            ")" => parens = parens.saturating_sub(1),
            "..." if !(parens > 0 && i > 0 && words[i - 1] == ",") => return Some(i),
            _ => {}
        }
        None
    })
}

/// A declaration of a global variable without a storage class, which a
/// header must declare `extern`.  When in doubt (a function returning a
/// function pointer) `extern` is added too: it is harmless on functions.
fn is_variable(words: &[&str]) -> bool {
    let first = words[0];
    if matches!(first, "typedef" | "extern" | "static") || words.contains(&"{") {
        return false;
    }
    if matches!(first, "struct" | "union" | "enum") && words.len() == 2 {
        return false;
    }
    match words.iter().position(|w| *w == "(") {
        None => true,
        Some(open) => words.get(open + 1) == Some(&"*"),
    }
}

fn matching(words: &[&str], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, w) in words.iter().enumerate().skip(open) {
        match *w {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_ident(word: &str) -> bool {
    word.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `text[span]` with `edits` (byte ranges inside `span`) applied.
fn apply(text: &str, span: Range<usize>, mut edits: Vec<(Range<usize>, &str)>) -> String {
    // An insertion (an empty range) goes before a replacement at the same
    // place: `extern ` before the `bool` of `_Bool flag;`.
    edits.sort_by_key(|(range, _)| (range.start, range.end));
    let mut out = String::new();
    let mut cursor = span.start;
    for (range, replacement) in edits {
        out += &text[cursor..range.start];
        out += replacement;
        cursor = range.end;
    }
    out += &text[cursor..span.end];
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(api: &str) -> String {
        rewrite(api).text
    }

    /// Found by fuzzing: the `extern ` a variable gets and the `bool` of
    /// its `_Bool` are two edits at one place, and were applied out of
    /// order.
    #[test]
    fn a_bool_variable_gets_extern_before_its_type() {
        assert_eq!(text("_Bool ready;\n"), "extern bool ready;\n");
    }

    #[test]
    fn plain_c_is_copied_with_its_comments() {
        let api = "/* Adds. */\nint add(int x, int y); // sum\ntypedef struct { int x; } p_t;\n#define ANSWER 42\nextern int (*callback)(int);\n";
        assert_eq!(text(api), api);
    }

    #[test]
    fn partial_structs_and_opaque_typedefs_become_incomplete_types() {
        let out = text("typedef struct { int x; ...; } point_t;\nstruct s { int a[...]; };\ntypedef struct tag { ...; } t_t, *t_p;\ntypedef ... handle_t;\ntypedef ...* hp_t;\n");
        assert!(out.contains("\ntypedef struct point_t point_t;\n"), "{out}");
        assert!(out.contains("\nstruct s;\n"), "{out}");
        assert!(out.contains("\ntypedef struct tag t_t, *t_p;\n"), "{out}");
        assert!(
            out.contains("\ntypedef struct handle_t handle_t;\n"),
            "{out}"
        );
        assert!(
            out.contains("\ntypedef struct hp_t_opaque *hp_t;\n"),
            "{out}"
        );
        assert!(!out.contains("...;"), "{out}");
    }

    #[test]
    fn what_only_the_c_source_knows_is_left_out_with_a_comment() {
        let out = text("#define LIMIT ...\nenum color { RED, ... };\ntypedef int... count_t;\nstatic const int K;\nstatic const int J = 4;\n");
        assert!(out.contains("/* left out: `#define LIMIT ...`"), "{out}");
        assert!(
            out.contains("/* left out: `enum color { RED, ... };`"),
            "{out}"
        );
        assert!(
            out.contains("/* left out: `typedef int... count_t;`"),
            "{out}"
        );
        assert!(out.contains("/* left out: `static const int K;`"), "{out}");
        assert!(out.contains("\nstatic const int J = 4;\n"), "{out}");
    }

    #[test]
    fn variables_get_extern_and_arrays_lose_their_ellipsis() {
        let out = text("int counter;\nconst char *names[...];\nint (*hook)(int);\nint f(int);\nstruct s;\ntypedef int (*log_fn)(const char *, ...);\n");
        assert_eq!(
            out,
            "extern int counter;\nextern const char *names[];\nextern int (*hook)(int);\nint f(int);\nstruct s;\ntypedef int (*log_fn)(const char *, ...);\n"
        );
    }

    #[test]
    fn extern_python_is_dropped_in_both_forms() {
        let out = text("extern \"Python\" int f(int);\nextern \"Python+C\" {\n  int g(int);\n  int h(void);\n}\n");
        assert_eq!(out, "int f(int);\n\n  int g(int);\n  int h(void);\n\n");
    }

    #[test]
    fn ellipsis_in_comments_is_not_syntax() {
        let api = "/* ... */ int f(int); // and so on ...\n";
        assert_eq!(text(api), api);
    }

    #[test]
    fn standard_types_bring_their_headers() {
        let r = rewrite("size_t f(_Bool b, int64_t x, FILE *out);");
        assert_eq!(r.text, "size_t f(bool b, int64_t x, FILE *out);");
        let names: Vec<_> = r.includes.iter().map(|i| i.name).collect();
        assert_eq!(names, ["stddef.h", "stdint.h", "stdbool.h", "stdio.h"]);
        assert!(rewrite("int f(int);").includes.is_empty());
    }
}
