//! Offline evaluation, the protocol of `shared/reco/ABOUT.md`.
//!
//! Per evaluated viewer, events sorted by time: the first 80 % are history,
//! the last 20 % are what to predict. The model learns from every other
//! viewer's full history (the `--train-only` file) plus the evaluated
//! viewers' 80 %. Each model recommends 10 titles the viewer has not seen.
//!
//! - recall@10 = hits / min(10, titles to predict), averaged over viewers;
//! - nDCG@10 with binary relevance, averaged over viewers.

use std::collections::HashSet;
use std::path::Path;

use super::data::{DataError, Interactions, histories};
use super::itemknn::{ItemKnn, Params, popular};

/// How many titles each model recommends.
pub const CUTOFF: usize = 10;
/// Share of each viewer's events used as history.
pub const HISTORY_SHARE: f64 = 0.8;

/// Figures of one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Mean recall@10.
    pub recall: f64,
    /// Mean nDCG@10.
    pub ndcg: f64,
    /// Viewers evaluated.
    pub users: usize,
}

/// The result of one evaluation run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The recency-weighted item-kNN model.
    pub model: Scores,
    /// Most popular unseen titles.
    pub popularity: Scores,
    /// Interactions learned from.
    pub train_events: usize,
}

/// A viewer's split: history (oldest first) and the set to predict.
struct Split {
    history: Vec<u32>,
    target: HashSet<u32>,
}

/// Runs the protocol on `ratings` (evaluated) and `train_only` (learned from
/// only) with model parameters `params`.
pub fn evaluate(
    ratings: &Path,
    train_only: Option<&Path>,
    params: Params,
) -> Result<Report, DataError> {
    let mut data = Interactions::default();
    let evaluated = data.read_csv(ratings)?;
    let extra = match train_only {
        Some(p) => data.read_csv(p)?,
        None => Vec::new(),
    };
    let n_users = data.n_users();
    let n_items = data.n_items();

    let mut train: Vec<Vec<u32>> = vec![Vec::new(); n_users];
    let mut splits: Vec<Split> = Vec::new();
    for events in histories(n_users, &evaluated) {
        if events.is_empty() {
            continue;
        }
        let cut = (events.len() as f64 * HISTORY_SHARE) as usize;
        let history: Vec<u32> = events[..cut].iter().map(|e| e.item).collect();
        let target: HashSet<u32> = events[cut..].iter().map(|e| e.item).collect();
        train[events[0].user as usize].extend(&history);
        if !target.is_empty() {
            splits.push(Split { history, target });
        }
    }
    for events in histories(n_users, &extra) {
        if let Some(first) = events.first() {
            train[first.user as usize].extend(events.iter().map(|e| e.item));
        }
    }
    let train_events = train.iter().map(Vec::len).sum();

    let model = ItemKnn::fit(n_items, &train, params);
    let mut counts = vec![0.0_f32; n_items];
    for items in &train {
        for &i in items {
            counts[i as usize] += 1.0;
        }
    }
    Ok(Report {
        model: score(&splits, |s| model.recommend(&s.history, CUTOFF)),
        popularity: score(&splits, |s| popular(&counts, &s.history, CUTOFF)),
        train_events,
    })
}

fn score(splits: &[Split], recommend: impl Fn(&Split) -> Vec<u32>) -> Scores {
    let (mut recall, mut ndcg) = (0.0, 0.0);
    for s in splits {
        let recs = recommend(s);
        let (r, n) = metrics(&recs, &s.target);
        recall += r;
        ndcg += n;
    }
    let users = splits.len().max(1) as f64;
    Scores {
        recall: recall / users,
        ndcg: ndcg / users,
        users: splits.len(),
    }
}

/// recall@10 and nDCG@10 (binary relevance) of one list.
fn metrics(recs: &[u32], target: &HashSet<u32>) -> (f64, f64) {
    let ideal = target.len().min(CUTOFF);
    if ideal == 0 {
        return (0.0, 0.0);
    }
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let mut hits = 0;
    let mut dcg = 0.0;
    for (rank, item) in recs.iter().take(CUTOFF).enumerate() {
        if target.contains(item) {
            hits += 1;
            dcg += gain(rank);
        }
    }
    let idcg: f64 = (0..ideal).map(gain).sum();
    (hits as f64 / ideal as f64, dcg / idcg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_follow_the_formulas() {
        let target: HashSet<u32> = [1, 2].into_iter().collect();
        // Both hits at the top: perfect.
        assert_eq!(metrics(&[1, 2, 3], &target), (1.0, 1.0));
        // One hit, at rank 2 (index 1): recall 1/2; DCG = 1/log2(3).
        let (r, n) = metrics(&[9, 1, 8], &target);
        assert!((r - 0.5).abs() < 1e-12);
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((n - (1.0 / 3f64.log2()) / idcg).abs() < 1e-12);
        assert_eq!(metrics(&[7, 8], &target), (0.0, 0.0));
    }
}
