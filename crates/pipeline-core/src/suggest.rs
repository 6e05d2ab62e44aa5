//! "Did you mean" suggestions for unknown names.

/// Up to three candidates close to `wanted`, best first (Jaro-Winkler ≥ 0.8,
/// the spirit of Python's `difflib.get_close_matches` with its 0.6 cutoff on a
/// different scale).
pub(crate) fn close_matches<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wanted, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_owned())
        .collect()
}

/// Suggestions for several unknown names, without repeats.
pub(crate) fn close_matches_all<'a>(
    wanted: &[String],
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in wanted {
        for m in close_matches(w, candidates.clone()) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_near_names_only() {
        let names = ["preprocess_companies", "train_model", "evaluate"];
        assert_eq!(close_matches("train_modle", names), ["train_model"]);
        assert!(close_matches("zzz", names).is_empty());
    }
}
