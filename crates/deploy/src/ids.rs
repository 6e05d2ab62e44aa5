//! Task ids: kedro-airflow's slugs, made unique and bounded.
//!
//! kedro-airflow names a task `slugify(group name)`: lowercase, runs of
//! anything but `[a-z0-9]` become one `-`, no `-` at either end. It lets
//! `a_b`, `a.b` and `A-B` collide silently (one task overwrites the other in
//! the DAG); here every task whose slug is shared gets `-<hash>` appended, a
//! hash of its node names, so ids stay stable from one generation to the
//! next and never collide. kedro-airflow transliterates non-ASCII letters
//! (python-slugify's unidecode table); tandem has no such table and treats
//! them as separators, so a name made only of them becomes `task-<hash>`.

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

use crate::Error;

/// Airflow's limit on a task id's length.
pub const MAX_TASK_ID_LEN: usize = 250;

/// Hex digits of the disambiguating hash.
const HASH_LEN: usize = 8;

/// kedro-airflow's slug of `name` (without transliteration).
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len().min(MAX_TASK_ID_LEN + 1));
    let mut pending_dash = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    slug
}

/// The first [`HASH_LEN`] hex digits of SHA-256 over the node names,
/// newline-separated (the node sets of two tasks are disjoint, so two tasks
/// never hash the same input).
fn hash_of(nodes: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            hasher.update(b"\n");
        }
        hasher.update(node.as_bytes());
    }
    let digest = hasher.finalize();
    digest
        .iter()
        .take(HASH_LEN / 2)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `slug-hash`, the slug cut so the whole fits [`MAX_TASK_ID_LEN`].
fn with_hash(slug: &str, nodes: &[&str]) -> String {
    let room = MAX_TASK_ID_LEN - HASH_LEN - 1;
    let base = if slug.is_empty() { "task" } else { slug };
    let cut = base[..base.len().min(room)].trim_end_matches('-');
    format!("{cut}-{}", hash_of(nodes))
}

/// One unique, Airflow-valid id per task: `names[i]` is task i's group
/// name, `nodes[i]` its node names. Linear in the total length of names.
pub fn task_ids(names: &[String], nodes: &[Vec<&str>]) -> Result<Vec<String>, Error> {
    let slugs: Vec<String> = names.iter().map(|n| slugify(n)).collect();
    let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
    for slug in &slugs {
        *counts.entry(slug.as_str()).or_default() += 1;
    }
    let ids: Vec<String> = slugs
        .iter()
        .zip(nodes)
        .map(|(slug, nodes)| {
            let shared = counts.get(slug.as_str()).copied().unwrap_or(0) > 1;
            if shared || slug.is_empty() || slug.len() > MAX_TASK_ID_LEN {
                with_hash(slug, nodes)
            } else {
                slug.clone()
            }
        })
        .collect();
    let mut seen: FxHashMap<&str, usize> = FxHashMap::default();
    for (i, id) in ids.iter().enumerate() {
        if let Some(&first) = seen.get(id.as_str()) {
            return Err(Error::DuplicateTaskId {
                id: id.clone(),
                first: names[first].clone(),
                second: names[i].clone(),
            });
        }
        seen.insert(id, i);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_match_kedro_airflow() {
        assert_eq!(slugify("save_model"), "save-model");
        assert_eq!(slugify("ns.extra"), "ns-extra");
        assert_eq!(slugify("__Fit  Model!__"), "fit-model");
        assert_eq!(slugify("节点"), "");
    }

    #[test]
    fn colliding_slugs_get_stable_hashes_and_long_ones_are_cut() {
        let names: Vec<String> = ["a_b", "a.b", "c"].map(String::from).to_vec();
        let nodes = vec![vec!["a_b"], vec!["a.b"], vec!["c"]];
        let ids = task_ids(&names, &nodes).unwrap();
        assert!(ids[0].starts_with("a-b-") && ids[1].starts_with("a-b-"));
        assert_ne!(ids[0], ids[1]);
        assert_eq!(ids[2], "c");
        assert_eq!(task_ids(&names, &nodes).unwrap(), ids, "stable");

        let long = "x".repeat(400);
        let ids = task_ids(&[long.clone(), "节点".into()], &[vec![&long], vec!["节点"]]).unwrap();
        assert_eq!(ids[0].len(), MAX_TASK_ID_LEN);
        assert!(ids[1].starts_with("task-"));
        for id in ids {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            );
        }
    }
}
