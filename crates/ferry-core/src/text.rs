//! Text cut to the limits of the places it is shown (Slack blocks, GitHub statuses).

/// `text` cut to at most `max` characters (on a character boundary), ending with an ellipsis
/// when it was cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_over_the_limit_ends_with_an_ellipsis_within_it() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("ééééé", 3).chars().count(), 3);
    }
}
