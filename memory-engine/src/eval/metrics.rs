//! Retrieval metrics: recall@k, hit@k and mean reciprocal rank per query, averaged over a set
//! of queries, and the latency percentiles of the report.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Where one query's relevant memories landed in its ranked results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOutcome {
    /// 1-based ranks at which relevant memories appeared, ascending.
    pub relevant_ranks: Vec<usize>,
    /// How many memories are relevant to the query (at least one).
    pub relevant: usize,
}

impl QueryOutcome {
    /// Scores `ranked` (best first, already cut to the deepest k measured) against the
    /// `relevant` items.
    pub fn from_ranking<T: PartialEq>(ranked: &[T], relevant: &[T]) -> QueryOutcome {
        let relevant_ranks =
            ranked.iter().enumerate().filter(|(_, item)| relevant.contains(item)).map(|(i, _)| i + 1).collect();
        QueryOutcome { relevant_ranks, relevant: relevant.len() }
    }

    /// The share of the relevant memories found in the top `k`.
    pub fn recall_at(&self, k: usize) -> f64 {
        if self.relevant == 0 {
            return 0.0;
        }
        let found = self.relevant_ranks.iter().filter(|&&rank| rank <= k).count();
        found as f64 / self.relevant as f64
    }

    /// Whether at least one relevant memory is in the top `k`.
    pub fn hit_at(&self, k: usize) -> bool {
        self.relevant_ranks.first().is_some_and(|&rank| rank <= k)
    }

    /// 1 / the rank of the first relevant memory; 0 when none was returned.
    pub fn reciprocal_rank(&self) -> f64 {
        self.relevant_ranks.first().map_or(0.0, |&rank| 1.0 / rank as f64)
    }
}

/// Metrics averaged over a set of queries, one recall and hit rate per k.
///
/// Serializes as `{"recall@5":..,"hit@5":..,"recall@10":..,"hit@10":..,"mrr":..,"queries":n}`
/// with the ks in ascending order.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    ks: Vec<usize>,
    recall: Vec<f64>,
    hit: Vec<f64>,
    mrr: f64,
    queries: usize,
}

impl Metrics {
    /// The mean of each metric over `outcomes`, for each of `ks` (ascending, no repeats). Zero
    /// queries give all-zero metrics rather than NaN, which JSON cannot carry.
    pub fn average<'a>(ks: &[usize], outcomes: impl IntoIterator<Item = &'a QueryOutcome>) -> Metrics {
        let mut recall = vec![0.0; ks.len()];
        let mut hit = vec![0.0; ks.len()];
        let mut mrr = 0.0;
        let mut queries = 0;
        for outcome in outcomes {
            queries += 1;
            for (i, &k) in ks.iter().enumerate() {
                recall[i] += outcome.recall_at(k);
                hit[i] += if outcome.hit_at(k) { 1.0 } else { 0.0 };
            }
            mrr += outcome.reciprocal_rank();
        }
        if queries > 0 {
            let n = queries as f64;
            recall.iter_mut().chain(hit.iter_mut()).for_each(|x| *x /= n);
            mrr /= n;
        }
        Metrics { ks: ks.to_vec(), recall, hit, mrr, queries }
    }

    /// The ks measured, ascending.
    pub fn ks(&self) -> &[usize] {
        &self.ks
    }

    /// Mean recall@k, if `k` was measured.
    pub fn recall_at(&self, k: usize) -> Option<f64> {
        self.ks.iter().position(|&x| x == k).map(|i| self.recall[i])
    }

    /// Share of queries with a relevant memory in the top `k`, if `k` was measured.
    pub fn hit_at(&self, k: usize) -> Option<f64> {
        self.ks.iter().position(|&x| x == k).map(|i| self.hit[i])
    }

    /// Mean reciprocal rank of the first relevant memory.
    pub fn mrr(&self) -> f64 {
        self.mrr
    }

    /// How many queries were averaged.
    pub fn queries(&self) -> usize {
        self.queries
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.ks.len() * 2 + 2))?;
        for (i, k) in self.ks.iter().enumerate() {
            map.serialize_entry(&format!("recall@{k}"), &self.recall[i])?;
            map.serialize_entry(&format!("hit@{k}"), &self.hit[i])?;
        }
        map.serialize_entry("mrr", &self.mrr)?;
        map.serialize_entry("queries", &self.queries)?;
        map.end()
    }
}

/// The `p`th percentile (0..=100) of `samples` by the nearest-rank method: the smallest sample
/// at least `p`% of the samples are not above. 0 for no samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn one_query_by_hand() {
        // Relevant: a, b, c. Ranked: x a y b z; c missing.
        let o = QueryOutcome::from_ranking(&["x", "a", "y", "b", "z"], &["a", "b", "c"]);
        assert_eq!(o, QueryOutcome { relevant_ranks: vec![2, 4], relevant: 3 });
        assert!(close(o.recall_at(1), 0.0));
        assert!(close(o.recall_at(2), 1.0 / 3.0));
        assert!(close(o.recall_at(5), 2.0 / 3.0));
        assert!(!o.hit_at(1));
        assert!(o.hit_at(2));
        assert!(close(o.reciprocal_rank(), 0.5));
    }

    #[test]
    fn a_miss_scores_zero_everywhere() {
        let o = QueryOutcome::from_ranking(&["x", "y"], &["a"]);
        assert!(close(o.recall_at(10), 0.0));
        assert!(!o.hit_at(10));
        assert!(close(o.reciprocal_rank(), 0.0));
        let empty = QueryOutcome::from_ranking::<&str>(&[], &["a"]);
        assert_eq!(empty.relevant_ranks, Vec::<usize>::new());
    }

    #[test]
    fn averages_by_hand() {
        let outcomes = [
            // First relevant at rank 1, both relevant within 2.
            QueryOutcome::from_ranking(&["a", "b", "x"], &["a", "b"]),
            // One relevant at rank 3.
            QueryOutcome::from_ranking(&["x", "y", "c"], &["c"]),
            // Nothing found.
            QueryOutcome::from_ranking(&["x", "y", "z"], &["d"]),
            // Half of two relevant, at rank 2.
            QueryOutcome::from_ranking(&["x", "e", "y"], &["e", "f"]),
        ];
        let m = Metrics::average(&[1, 3], &outcomes);
        assert_eq!(m.queries(), 4);
        // recall@1: 0.5 + 0 + 0 + 0 = 0.5 -> 0.125; recall@3: 1 + 1 + 0 + 0.5 = 2.5 -> 0.625.
        assert!(close(m.recall_at(1).unwrap(), 0.125));
        assert!(close(m.recall_at(3).unwrap(), 0.625));
        // hit@1: 1 of 4; hit@3: 3 of 4.
        assert!(close(m.hit_at(1).unwrap(), 0.25));
        assert!(close(m.hit_at(3).unwrap(), 0.75));
        // MRR: (1 + 1/3 + 0 + 1/2) / 4 = 11/24.
        assert!(close(m.mrr(), 11.0 / 24.0));
        assert_eq!(m.recall_at(2), None);
    }

    #[test]
    fn no_queries_average_to_zero_not_nan() {
        let m = Metrics::average(&[5], &[]);
        assert_eq!((m.recall_at(5), m.hit_at(5), m.mrr(), m.queries()), (Some(0.0), Some(0.0), 0.0, 0));
    }

    #[test]
    fn metrics_serialize_with_keys_per_k_in_order() {
        let outcomes = [QueryOutcome::from_ranking(&["a"], &["a"])];
        let json = serde_json::to_string(&Metrics::average(&[5, 10], &outcomes)).unwrap();
        assert_eq!(json, r#"{"recall@5":1.0,"hit@5":1.0,"recall@10":1.0,"hit@10":1.0,"mrr":1.0,"queries":1}"#);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0];
        assert!(close(percentile(&samples, 50.0), 5.0));
        assert!(close(percentile(&samples, 95.0), 10.0));
        assert!(close(percentile(&samples, 90.0), 9.0));
        assert!(close(percentile(&samples, 0.0), 1.0));
        assert!(close(percentile(&[7.0], 95.0), 7.0));
        assert!(close(percentile(&[], 50.0), 0.0));
    }
}
