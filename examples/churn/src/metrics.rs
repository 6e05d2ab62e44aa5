//! Evaluation of the test-set predictions.

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::data_value;

use crate::error::Error;
use crate::model::{CHURN, CHURN_PROBABILITY};
use crate::table::{CHURNED, complete_numbers, flags};

/// Probabilities are clipped this far from 0 and 1 in the log-loss, as
/// scikit-learn does, so one confident mistake costs a lot but not infinity.
const LOG_LOSS_EPSILON: f64 = 1e-15;

/// What `metrics.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Test rows evaluated.
    pub n_test: usize,
    /// The share of churners in the test set: the accuracy of always
    /// answering the majority class is `max(base_rate, 1 - base_rate)`.
    pub base_rate: f64,
    /// The decision threshold the predictions used.
    pub threshold: f64,
    /// Correct decisions / rows.
    pub accuracy: f64,
    /// Churners among predicted churners (0 when none is predicted).
    pub precision: f64,
    /// Predicted churners among churners (0 when there are none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Area under the ROC curve; `None` when the test set has one class only.
    pub roc_auc: Option<f64>,
    /// Mean negative log-likelihood of the labels.
    pub log_loss: f64,
}

data_value!(serde: Metrics);

/// The scores of `metrics` as MLflow metrics, name to value: what
/// `mlflow.MlflowMetricsHistoryDataset` logs. The counts and the threshold
/// stay in the report; an undefined ROC AUC (one class only) is left out,
/// as MLflow has no missing value.
pub fn track_metrics(metrics: &Metrics) -> serde_json::Value {
    let mut scores = serde_json::Map::new();
    let defined = [
        ("accuracy", Some(metrics.accuracy)),
        ("precision", Some(metrics.precision)),
        ("recall", Some(metrics.recall)),
        ("f1", Some(metrics.f1)),
        ("roc_auc", metrics.roc_auc),
        ("log_loss", Some(metrics.log_loss)),
    ];
    for (name, value) in defined {
        if let Some(value) = value {
            scores.insert(name.to_owned(), serde_json::json!(value));
        }
    }
    serde_json::Value::Object(scores)
}

/// Scores `predictions` (`churn_probability`, `churn`) against the
/// `churned` column of `labels`, row by row.
pub fn evaluate(
    predictions: &RecordBatch,
    labels: &RecordBatch,
    threshold: f64,
) -> Result<Metrics, Error> {
    let probabilities = complete_numbers(predictions, CHURN_PROBABILITY)?;
    let decisions = flags(predictions, CHURN)?;
    let truth = flags(labels, CHURNED)?;
    if truth.len() != probabilities.len() {
        return Err(Error::Mismatch(format!(
            "{} prediction(s) but {} label(s)",
            probabilities.len(),
            truth.len()
        )));
    }
    if truth.is_empty() {
        return Err(Error::invalid_column(CHURNED, "no test rows to evaluate"));
    }
    let count = |f: &dyn Fn(bool, bool) -> bool| {
        decisions
            .iter()
            .zip(&truth)
            .filter(|(d, t)| f(**d, **t))
            .count()
    };
    let tp = count(&|d, t| d && t);
    let fp = count(&|d, t| d && !t);
    let fn_ = count(&|d, t| !d && t);
    let tn = count(&|d, t| !d && !t);
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let n = truth.len();
    let log_loss = probabilities
        .iter()
        .zip(&truth)
        .map(|(p, t)| {
            let p = p.clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON);
            -if *t { p.ln() } else { (1.0 - p).ln() }
        })
        .sum::<f64>()
        / n as f64;
    Ok(Metrics {
        n_test: n,
        base_rate: ratio(tp + fn_, n),
        threshold,
        accuracy: ratio(tp + tn, n),
        precision,
        recall,
        f1,
        roc_auc: roc_auc(&probabilities, &truth),
        log_loss,
    })
}

/// The Mann–Whitney form of the AUC: the probability that a random churner
/// scores above a random stayer, ties counting half (average ranks).
fn roc_auc(probabilities: &[f64], truth: &[bool]) -> Option<f64> {
    let positives = truth.iter().filter(|t| **t).count();
    let negatives = truth.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_unstable_by(|a, b| probabilities[*a].total_cmp(&probabilities[*b]));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let value = probabilities[order[start]];
        let end = start
            + order[start..]
                .iter()
                .take_while(|i| probabilities[**i] == value)
                .count();
        // Ranks are 1-based; tied rows share the mean of their ranks.
        let rank = (start + 1 + end) as f64 / 2.0;
        positive_rank_sum += rank * order[start..end].iter().filter(|i| truth[**i]).count() as f64;
        start = end;
    }
    let (p, q) = (positives as f64, negatives as f64);
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * q))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray};

    use super::*;
    use crate::table::{float_column, table};

    /// Predictions (probability, decision at 0.5) and labels, for tests.
    pub(crate) fn batches(p: Vec<f64>, truth: Vec<bool>) -> (RecordBatch, RecordBatch) {
        let decisions: BooleanArray = p.iter().map(|p| Some(*p >= 0.5)).collect();
        let predictions = table(vec![
            (CHURN_PROBABILITY.into(), float_column(p)),
            (CHURN.into(), Arc::new(decisions) as ArrayRef),
        ])
        .unwrap();
        let labels = table(vec![(
            CHURNED.into(),
            Arc::new(BooleanArray::from(truth)) as ArrayRef,
        )])
        .unwrap();
        (predictions, labels)
    }

    #[test]
    fn metrics_on_a_small_hand_checked_case() {
        let (p, l) = batches(
            vec![0.9, 0.8, 0.3, 0.6, 0.1],
            vec![true, false, true, false, false],
        );
        let m = evaluate(&p, &l, 0.5).unwrap();
        assert_eq!(m.n_test, 5);
        assert_eq!(m.base_rate, 0.4);
        assert_eq!(m.accuracy, 0.4);
        assert!((m.precision - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.recall, 0.5);
        assert!((m.f1 - 0.4).abs() < 1e-12);
        // Pairs (churner, stayer) ranked right: 0.9 beats all 3, 0.3 beats 0.1 only.
        assert!((m.roc_auc.unwrap() - 4.0 / 6.0).abs() < 1e-12);
        let expected =
            -(0.9_f64.ln() + 0.2_f64.ln() + 0.3_f64.ln() + 0.4_f64.ln() + 0.9_f64.ln()) / 5.0;
        assert!((m.log_loss - expected).abs() < 1e-12);
    }

    #[test]
    fn ties_count_half_and_one_class_has_no_auc() {
        let (p, l) = batches(vec![0.5, 0.5], vec![true, false]);
        assert_eq!(evaluate(&p, &l, 0.5).unwrap().roc_auc, Some(0.5));
        let (p, l) = batches(vec![0.2, 0.7], vec![false, false]);
        let m = evaluate(&p, &l, 0.5).unwrap();
        assert_eq!((m.roc_auc, m.recall, m.precision), (None, 0.0, 0.0));
        let (p, _) = batches(vec![0.2], vec![true]);
        assert!(
            evaluate(&p, &l, 0.5)
                .unwrap_err()
                .to_string()
                .contains("1 prediction(s) but 2 label(s)")
        );
    }
}
