//! kedro-mlflow's `${km.random_name:}` resolver: a run name in MLflow's
//! style, `<adjective>-<noun>-<number>` (`brave-otter-482`).

/// Adjectives of the first part.
const ADJECTIVES: [&str; 40] = [
    "able", "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "curious", "daring",
    "eager", "fair", "fancy", "gentle", "glad", "golden", "grand", "happy", "honest", "jolly",
    "keen", "kind", "lively", "lucky", "merry", "mighty", "neat", "noble", "proud", "quick",
    "quiet", "rapid", "shy", "silent", "smooth", "steady", "swift", "tidy", "vivid", "witty",
];

/// Nouns of the second part.
const NOUNS: [&str; 40] = [
    "ant", "badger", "bear", "bee", "bison", "cat", "crane", "crow", "deer", "dolphin", "dove",
    "eagle", "elk", "finch", "fox", "frog", "gull", "hare", "hawk", "heron", "horse", "ibis",
    "koala", "lark", "lion", "lynx", "mole", "moose", "newt", "otter", "owl", "panda", "quail",
    "raven", "seal", "shark", "snail", "swan", "trout", "wolf",
];

/// A fresh random name: `<adjective>-<noun>-<0..999>`.
pub fn random_name() -> String {
    format!(
        "{}-{}-{}",
        ADJECTIVES[fastrand::usize(..ADJECTIVES.len())],
        NOUNS[fastrand::usize(..NOUNS.len())],
        fastrand::u16(..1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_mlflows_shape() {
        for _ in 0..100 {
            let name = random_name();
            let parts: Vec<&str> = name.split('-').collect();
            assert_eq!(parts.len(), 3, "{name}");
            assert!(
                ADJECTIVES.contains(&parts[0]) && NOUNS.contains(&parts[1]),
                "{name}"
            );
            assert!(parts[2].parse::<u16>().is_ok_and(|n| n < 1000), "{name}");
        }
    }
}
