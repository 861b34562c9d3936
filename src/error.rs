//! Errors as the user reads them: one `error:` line with the whole cause
//! chain, then a `hint:` line saying what to do.

/// What the user can do about an error, printed on its own `hint:` line.
/// Attach it as the root cause: `Err(anyhow!(Hint(..)).context(message))`.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}

/// An error with a hint: `fail(message, hint)`.
pub fn fail(message: impl std::fmt::Display, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hint(hint.into())).context(message.to_string())
}

/// The `error:` line and, when the error carries one, the `hint:` line.
pub fn report(err: &anyhow::Error) -> String {
    let hint = hint_of(err);
    let mut text = format!("error: {}\n", chain(err, hint.as_deref()));
    if let Some(hint) = hint {
        text += &format!("hint: {hint}\n");
    }
    text
}

/// The error's cause chain on one line, without its hint.
pub(crate) fn message(err: &anyhow::Error) -> String {
    chain(err, hint_of(err).as_deref())
}

/// The hint attached anywhere to the error: as its root cause or as a
/// context layer.
pub(crate) fn hint_of(err: &anyhow::Error) -> Option<String> {
    // The chain's items show a context layer as its wrapper, which only
    // the error itself can see through.
    err.chain()
        .find_map(|e| e.downcast_ref::<Hint>())
        .or_else(|| err.downcast_ref::<Hint>())
        .map(|hint| hint.0.clone())
}

/// The error and its causes on one line, the hint left out.
fn chain(err: &anyhow::Error, hint: Option<&str>) -> String {
    err.chain()
        .map(|e| e.to_string())
        .filter(|text| Some(text.as_str()) != hint)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_gets_its_own_line_and_leaves_the_chain() {
        let err = fail("`x` is missing", "create it").context("cannot build");
        assert_eq!(
            report(&err),
            "error: cannot build: `x` is missing\nhint: create it\n"
        );
        let plain = anyhow::anyhow!("root").context("top");
        assert_eq!(report(&plain), "error: top: root\n");
    }

    #[test]
    fn a_hint_given_as_a_context_layer_gets_its_own_line() {
        let err = anyhow::anyhow!("disk full")
            .context(Hint("free space".into()))
            .context("cannot write `out`");
        assert_eq!(
            report(&err),
            "error: cannot write `out`: disk full\nhint: free space\n"
        );
    }
}
