//! The sign-in page shows what the client sent (its state, its redirect address): always escaped.

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_text_cannot_inject_markup() {
        assert_eq!(
            super::escape(r#"<a href="x">'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&lt;/a&gt;"
        );
    }
}
