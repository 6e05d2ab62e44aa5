//! Splitting a log-batch into requests the server accepts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Result;
use crate::types::{Metric, Param, Tag};

/// MLflow's server-side limits for one `runs/log-batch` request.
const MAX_METRICS: usize = 1000;
const MAX_PARAMS: usize = 100;
const MAX_TAGS: usize = 100;
const MAX_ENTITIES: usize = 1000;
/// 1 MB, less room for the envelope (`run_id`, field names, brackets).
const MAX_BYTES: usize = 1_000_000 - 4_096;

/// One request's worth of values.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Chunk {
    pub(super) metrics: Vec<Metric>,
    pub(super) params: Vec<Param>,
    pub(super) tags: Vec<Tag>,
}

impl Chunk {
    fn len(&self) -> usize {
        self.metrics.len() + self.params.len() + self.tags.len()
    }
}

fn json_len<T: serde::Serialize>(value: &T) -> usize {
    // Serializing these plain structs cannot fail; +1 for the separating comma.
    serde_json::to_vec(value).map_or(0, |v| v.len()) + 1
}

/// Greedy packing: params first (so a conflicting param fails before any
/// metric of the batch lands), then tags, then metrics, starting a new
/// chunk whenever a count or the byte budget would be exceeded.
pub(super) fn split(metrics: &[Metric], params: &[Param], tags: &[Tag]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Chunk::default();
    let mut bytes = 0;
    enum Item<'a> {
        M(&'a Metric),
        P(&'a Param),
        T(&'a Tag),
    }
    let items = params
        .iter()
        .map(Item::P)
        .chain(tags.iter().map(Item::T))
        .chain(metrics.iter().map(Item::M));
    for item in items {
        let (size, full) = match &item {
            Item::M(m) => (json_len(m), current.metrics.len() >= MAX_METRICS),
            Item::P(p) => (json_len(p), current.params.len() >= MAX_PARAMS),
            Item::T(t) => (json_len(t), current.tags.len() >= MAX_TAGS),
        };
        if current.len() > 0 && (full || current.len() >= MAX_ENTITIES || bytes + size > MAX_BYTES)
        {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        match item {
            Item::M(m) => current.metrics.push(m.clone()),
            Item::P(p) => current.params.push(p.clone()),
            Item::T(t) => current.tags.push(t.clone()),
        }
    }
    if current.len() > 0 {
        chunks.push(current);
    }
    chunks
}

/// Calls `f` on every item with up to `workers` threads; the first error
/// wins and stops the workers from taking further items.
pub(super) fn run_concurrently<T: Sync>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> Result<()> + Sync,
) -> Result<()> {
    if workers <= 1 || items.len() <= 1 {
        return items.iter().try_for_each(&f);
    }
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(None);
    // The workers are part of the caller's operation and share its budget.
    let scope = crate::operation::current();
    std::thread::scope(|s| {
        for _ in 0..workers.min(items.len()) {
            let scope = scope.clone();
            s.spawn(|| {
                crate::operation::enter(scope, || {
                    while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if let Err(e) = f(item) {
                            // Exhaust the queue so the other workers stop too.
                            next.store(items.len(), Ordering::Relaxed);
                            failed
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .get_or_insert(e);
                            return;
                        }
                    }
                })
            });
        }
    });
    match failed
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_every_limit_and_keep_everything() {
        let metrics: Vec<Metric> = (0..2500).map(|i| Metric::new("m", i as f64, i)).collect();
        let params: Vec<Param> = (0..250).map(|i| Param::new(format!("p{i}"), "v")).collect();
        let tags: Vec<Tag> = (0..150)
            .map(|i| Tag::new(format!("t{i}"), "x".repeat(7000)))
            .collect();
        let chunks = split(&metrics, &params, &tags);
        for c in &chunks {
            assert!(c.metrics.len() <= MAX_METRICS && c.params.len() <= MAX_PARAMS);
            assert!(c.tags.len() <= MAX_TAGS && c.len() <= MAX_ENTITIES);
            let body = serde_json::json!({"run_id": "r".repeat(32), "metrics": c.metrics,
                "params": c.params, "tags": c.tags});
            assert!(serde_json::to_vec(&body).unwrap().len() <= 1_000_000);
        }
        let total = |f: fn(&Chunk) -> usize| chunks.iter().map(f).sum::<usize>();
        assert_eq!(total(|c| c.metrics.len()), 2500);
        assert_eq!(total(|c| c.params.len()), 250);
        assert_eq!(total(|c| c.tags.len()), 150);
        let steps: Vec<i64> = chunks
            .iter()
            .flat_map(|c| c.metrics.iter().map(|m| m.step))
            .collect();
        assert_eq!(steps, (0..2500).collect::<Vec<_>>());
        assert!(split(&[], &[], &[]).is_empty());
    }

    #[test]
    fn concurrent_runs_visit_everything_and_report_the_first_error() {
        let seen = Mutex::new(Vec::new());
        let items: Vec<u32> = (0..50).collect();
        run_concurrently(&items, 4, |i| {
            seen.lock().unwrap().push(*i);
            Ok(())
        })
        .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort_unstable();
        assert_eq!(seen, items);
        let err = run_concurrently(&items, 3, |i| {
            if *i == 7 {
                Err(crate::error::Error::unsupported("boom"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "boom");
    }
}
