//! "Did you mean" suggestions for unknown names, scored like Python's
//! `difflib.get_close_matches` (Ratcliff/Obershelp ratio, cutoff 0.6, at most
//! three), so users see the suggestions Kedro would have made.

const CUTOFF: f64 = 0.6;
const MAX_SUGGESTIONS: usize = 3;

/// Up to three candidates close to `wanted`, best first.
pub fn close_matches<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let wanted: Vec<char> = wanted.chars().collect();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (ratio(&wanted, &c.chars().collect::<Vec<_>>()), c))
        .filter(|(score, _)| *score >= CUTOFF)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, c)| c.to_owned())
        .collect()
}

/// Suggestions for several unknown names, without repeats.
pub fn close_matches_all<'a>(
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

/// `2 * matches / (len(a) + len(b))`, where matches are found by taking the
/// longest common block and recursing on both sides of it.
fn ratio(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    2.0 * matching_chars(a, b) as f64 / total as f64
}

fn matching_chars(a: &[char], b: &[char]) -> usize {
    let (i, j, len) = longest_common_block(a, b);
    if len == 0 {
        return 0;
    }
    len + matching_chars(&a[..i], &b[..j]) + matching_chars(&a[i + len..], &b[j + len..])
}

/// The earliest longest common substring, as `(start in a, start in b, length)`.
fn longest_common_block(a: &[char], b: &[char]) -> (usize, usize, usize) {
    let mut best = (0, 0, 0);
    let mut prev = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                row[j + 1] = prev[j] + 1;
                if row[j + 1] > best.2 {
                    best = (i + 1 - row[j + 1], j + 1 - row[j + 1], row[j + 1]);
                }
            }
        }
        prev = row;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_near_names_only() {
        let names = ["preprocess_companies", "train_model", "evaluate"];
        assert_eq!(close_matches("train_modle", names), ["train_model"]);
        assert_eq!(close_matches("rwa", ["raw", "zzz"]), ["raw"]);
        assert!(close_matches("zzz", names).is_empty());
    }

    #[test]
    fn ratio_matches_difflib() {
        let r = |a: &str, b: &str| {
            ratio(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        // difflib.SequenceMatcher(None, "abcd", "bcde").ratio() == 0.75
        assert!((r("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((r("rwa", "raw") - 2.0 * 2.0 / 6.0).abs() < 1e-9);
        assert_eq!(r("", ""), 1.0);
    }
}
