//! Figures of the test-set evaluation, for a person to look at: the ROC
//! curve and the confusion matrix, saved as PNGs by
//! `matplotlib.MatplotlibWriter` and logged to the MLflow run.

use arrow_array::RecordBatch;
use tandem_plots::Figure;

use crate::error::Error;
use crate::model::{CHURN, CHURN_PROBABILITY};
use crate::table::{CHURNED, complete_numbers, flags};

/// The labels of `labels`' `churned` column, checked to line up with the
/// `rows` predictions.
fn truth(labels: &RecordBatch, rows: usize) -> Result<Vec<bool>, Error> {
    let truth = flags(labels, CHURNED)?;
    if truth.len() != rows {
        return Err(Error::Mismatch(format!(
            "{rows} prediction(s) but {} label(s)",
            truth.len()
        )));
    }
    Ok(truth)
}

/// The ROC curve of the `churn_probability` scores against the labels:
/// (false positive rate, true positive rate) at every distinct threshold,
/// highest first, with the area under it in the title. A test set of one
/// class has no curve; the figure then says so and shows the diagonal only.
pub fn plot_roc_curve(predictions: &RecordBatch, labels: &RecordBatch) -> Result<Figure, Error> {
    let scores = complete_numbers(predictions, CHURN_PROBABILITY)?;
    let truth = truth(labels, scores.len())?;
    let positives = truth.iter().filter(|t| **t).count();
    let negatives = truth.len() - positives;
    let figure = Figure::axes("")
        .size(5.0, 5.0)
        .x_label("false positive rate")
        .y_label("true positive rate")
        .x_range(0.0, 1.0)
        .y_range(0.0, 1.0);
    let chance = vec![(0.0, 0.0), (1.0, 1.0)];
    if positives == 0 || negatives == 0 {
        let mut figure = figure.dashed_line("chance", chance);
        figure.title = Some("ROC curve (undefined: one class in the test set)".to_owned());
        return Ok(figure);
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0_usize, 0_usize);
    let mut start = 0;
    while start < order.len() {
        // Tied scores move the curve together: one threshold, one point.
        let score = scores[order[start]];
        let end = start
            + order[start..]
                .iter()
                .take_while(|i| scores[**i] == score)
                .count();
        for &row in &order[start..end] {
            if truth[row] {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        points.push((fp as f64 / negatives as f64, tp as f64 / positives as f64));
        start = end;
    }
    let auc: f64 = points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum();
    let mut figure = figure
        .line("logistic regression", points)
        .dashed_line("chance", chance);
    figure.title = Some(format!("ROC curve (AUC {auc:.3})"));
    Ok(figure)
}

/// The confusion matrix of the `churn` decisions against the labels:
/// actual classes as rows, predicted ones as columns, stayers first.
pub fn plot_confusion_matrix(
    predictions: &RecordBatch,
    labels: &RecordBatch,
) -> Result<Figure, Error> {
    let decisions = flags(predictions, CHURN)?;
    let truth = truth(labels, decisions.len())?;
    let mut counts = vec![vec![0_u64; 2]; 2];
    for (decision, actual) in decisions.iter().zip(&truth) {
        counts[usize::from(*actual)][usize::from(*decision)] += 1;
    }
    Ok(
        Figure::confusion_matrix("Confusion matrix (test set)", &["stays", "churns"], &counts)
            .size(5.0, 4.5),
    )
}

#[cfg(test)]
mod tests {
    use tandem_plots::Content;

    use super::*;
    use crate::metrics::tests::batches;

    #[test]
    fn the_roc_curve_steps_through_each_threshold_and_its_area_matches_the_auc() {
        let (p, l) = batches(
            vec![0.9, 0.8, 0.3, 0.6, 0.1],
            vec![true, false, true, false, false],
        );
        let figure = plot_roc_curve(&p, &l).unwrap();
        let Content::Axes(axes) = &figure.content else {
            panic!("not axes")
        };
        assert_eq!(
            axes.series[0].points,
            [
                (0.0, 0.0),
                (0.0, 0.5),
                (1.0 / 3.0, 0.5),
                (2.0 / 3.0, 0.5),
                (2.0 / 3.0, 1.0),
                (1.0, 1.0)
            ]
        );
        // The same 4/6 as metrics::evaluate's rank-based AUC.
        assert_eq!(figure.title.as_deref(), Some("ROC curve (AUC 0.667)"));
        assert!(figure.to_png().unwrap().starts_with(b"\x89PNG"));

        let (p, l) = batches(vec![0.2, 0.7], vec![false, false]);
        let figure = plot_roc_curve(&p, &l).unwrap();
        assert!(figure.title.unwrap().contains("undefined"));
    }

    #[test]
    fn the_confusion_matrix_counts_actual_by_predicted() {
        let (p, l) = batches(
            vec![0.9, 0.8, 0.3, 0.6, 0.1],
            vec![true, false, true, false, false],
        );
        let figure = plot_confusion_matrix(&p, &l).unwrap();
        let Content::Heatmap(heatmap) = &figure.content else {
            panic!("not a heatmap")
        };
        // Stayers: 1 kept (0.1), 2 predicted to churn (0.8, 0.6); churners:
        // 1 missed (0.3), 1 caught (0.9).
        assert_eq!(heatmap.values, [vec![1.0, 2.0], vec![1.0, 1.0]]);
        let (p, _) = batches(vec![0.2], vec![true]);
        assert!(
            plot_confusion_matrix(&p, &l)
                .unwrap_err()
                .to_string()
                .contains("1 prediction(s) but 5 label(s)")
        );
    }
}
