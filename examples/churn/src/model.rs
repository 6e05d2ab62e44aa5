//! The churn model: a linfa logistic regression, kept as a plain serde
//! struct (names, intercept, coefficients) so the catalog persists it as
//! readable JSON and the served model needs no linfa types.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use tandem_pipeline_core::data_value;

use crate::error::Error;
use crate::table::{CHURNED, column_names, complete_numbers, flags, float_column, table};

/// The probability column of the predictions.
pub const CHURN_PROBABILITY: &str = "churn_probability";
/// The decision column of the predictions.
pub const CHURN: &str = "churn";

/// `params:model`: linfa's logistic-regression settings.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    /// L2 regularization strength (0 disables it).
    pub alpha: f64,
    /// L-BFGS iterations at most.
    pub max_iterations: u64,
    /// Stop when the gradient norm is below this.
    pub gradient_tolerance: f64,
}

/// A fitted logistic regression: `P(churn) = sigmoid(w · x + b)` over the
/// named features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// The feature columns, in the order of `coefficients`.
    pub feature_names: Vec<String>,
    /// `b`.
    pub intercept: f64,
    /// `w`, one per feature.
    pub coefficients: Vec<f64>,
}

data_value!(params: ModelParams);
data_value!(serde: LogisticModel);

impl LogisticModel {
    /// Takes the weights out of a fitted linfa model, oriented so that the
    /// probability is that of `churned = true`. linfa's probability is that
    /// of the class that was more frequent in training, which for churn is
    /// usually `false`; `1 - sigmoid(z) = sigmoid(-z)`, so that case negates
    /// the weights.
    pub fn from_linfa(
        feature_names: Vec<String>,
        fitted: &FittedLogisticRegression<f64, bool>,
    ) -> Result<LogisticModel, Error> {
        let weights = fitted.params();
        if weights.len() != feature_names.len() {
            return Err(Error::Mismatch(format!(
                "the fitted model has {} coefficient(s) for {} feature name(s)",
                weights.len(),
                feature_names.len()
            )));
        }
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        Ok(LogisticModel {
            feature_names,
            intercept: sign * fitted.intercept(),
            coefficients: weights.iter().map(|w| sign * w).collect(),
        })
    }

    /// `P(churn)` for each row of `features`, which must hold every feature
    /// column (extra columns are ignored).
    pub fn probabilities(&self, features: &RecordBatch) -> Result<Vec<f64>, Error> {
        let x = matrix(features, &self.feature_names)?;
        let z = x.dot(&Array1::from(self.coefficients.clone())) + self.intercept;
        Ok(z.iter().map(|z| sigmoid(*z)).collect())
    }
}

/// linfa's own formula, so predictions match it to the last bits.
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The named columns as a row-major matrix.
fn matrix(features: &RecordBatch, names: &[String]) -> Result<Array2<f64>, Error> {
    let mut x = Array2::zeros((features.num_rows(), names.len()));
    for (j, name) in names.iter().enumerate() {
        for (i, v) in complete_numbers(features, name)?.into_iter().enumerate() {
            if !v.is_finite() {
                return Err(Error::invalid_column(name, format!("row {i} is {v}")));
            }
            x[(i, j)] = v;
        }
    }
    Ok(x)
}

/// Fits the model on every column of `features` against the `churned`
/// column of `labels`.
pub fn fit_model(
    features: &RecordBatch,
    labels: &RecordBatch,
    params: ModelParams,
) -> Result<LogisticModel, Error> {
    let names: Vec<String> = column_names(features)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let x = matrix(features, &names)?;
    let y = Array1::from(flags(labels, CHURNED)?);
    if y.len() != x.nrows() {
        return Err(Error::Mismatch(format!(
            "{} feature row(s) but {} label(s)",
            x.nrows(),
            y.len()
        )));
    }
    let fitted = LogisticRegression::default()
        .alpha(params.alpha)
        .max_iterations(params.max_iterations)
        .gradient_tolerance(params.gradient_tolerance)
        .fit(&DatasetBase::new(x, y))?;
    LogisticModel::from_linfa(names, &fitted)
}

/// `churn_probability` and `churn` (the probability is at least
/// `threshold`, linfa's rule) for each row of `features`.
pub fn predict(
    features: &RecordBatch,
    model: &LogisticModel,
    threshold: f64,
) -> Result<RecordBatch, Error> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(Error::invalid_parameter(
            "threshold",
            format!("must be in [0, 1], got {threshold}"),
        ));
    }
    let probabilities = model.probabilities(features)?;
    let churn: BooleanArray = probabilities
        .iter()
        .map(|p| Some(*p >= threshold))
        .collect();
    table(vec![
        (CHURN_PROBABILITY.to_owned(), float_column(probabilities)),
        (CHURN.to_owned(), Arc::new(churn) as ArrayRef),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::numbers;

    /// Two features; the label follows the first one, with `true` in the
    /// majority or the minority.
    fn data(majority: bool) -> (RecordBatch, RecordBatch) {
        let a: Vec<f64> = (0..40).map(|i| f64::from(i) / 10.0 - 2.0).collect();
        let b: Vec<f64> = (0..40).map(|i| f64::from((i * 7) % 11) / 5.0).collect();
        let cut = if majority { -0.8 } else { 0.9 };
        // A few flipped labels keep the classes overlapping, so the optimum is finite.
        let y: Vec<bool> = a
            .iter()
            .enumerate()
            .map(|(i, v)| (*v > cut) != (i % 9 == 0))
            .collect();
        let features = table(vec![
            ("a".into(), float_column(a)),
            ("b".into(), float_column(b)),
        ])
        .unwrap();
        let labels = table(vec![(
            CHURNED.into(),
            Arc::new(BooleanArray::from(y)) as ArrayRef,
        )])
        .unwrap();
        (features, labels)
    }

    #[test]
    fn probabilities_match_linfa_in_both_orientations() {
        for majority in [true, false] {
            let (features, labels) = data(majority);
            let names = vec!["a".to_owned(), "b".to_owned()];
            let x = matrix(&features, &names).unwrap();
            let y = Array1::from(flags(&labels, CHURNED).unwrap());
            let fitted = LogisticRegression::default()
                .fit(&DatasetBase::new(x.clone(), y))
                .unwrap();
            assert_eq!(fitted.labels().pos.class, majority);
            let linfa_p = fitted.predict_probabilities(&x);
            let model = LogisticModel::from_linfa(names, &fitted).unwrap();
            let ours = model.probabilities(&features).unwrap();
            for (p, q) in ours.iter().zip(&linfa_p) {
                let linfa_churn = if majority { *q } else { 1.0 - q };
                assert!((p - linfa_churn).abs() < 1e-12, "{p} vs {linfa_churn}");
            }
            assert!(model.coefficients[0] > 0.0, "churn rises with a: {model:?}");
        }
    }

    #[test]
    fn predictions_apply_the_threshold_and_survive_json() {
        let (features, labels) = data(false);
        let params = ModelParams {
            alpha: 0.1,
            max_iterations: 100,
            gradient_tolerance: 1e-6,
        };
        let model = fit_model(&features, &labels, params).unwrap();
        let json = serde_json::to_value(&model).unwrap();
        let back: LogisticModel = serde_json::from_value(json).unwrap();
        assert_eq!(back, model);
        let predictions = predict(&features, &back, 0.5).unwrap();
        let p = numbers(&predictions, CHURN_PROBABILITY).unwrap();
        let churn = flags(&predictions, CHURN).unwrap();
        for (p, c) in p.iter().zip(&churn) {
            assert_eq!(p.unwrap() >= 0.5, *c);
        }
        assert!(predict(&features, &back, 1.5).is_err());
        let err = predict(&features.project(&[1]).unwrap(), &back, 0.5).unwrap_err();
        assert!(err.to_string().contains("no column 'a'"), "{err}");
    }

    #[test]
    fn mismatched_rows_and_single_class_labels_are_errors() {
        let (features, labels) = data(true);
        let params = ModelParams {
            alpha: 1.0,
            max_iterations: 10,
            gradient_tolerance: 1e-4,
        };
        let err = fit_model(&features.slice(0, 5), &labels, params.clone()).unwrap_err();
        assert!(
            err.to_string().contains("5 feature row(s) but 40 label(s)"),
            "{err}"
        );
        let err = fit_model(&features.slice(28, 8), &labels.slice(28, 8), params).unwrap_err();
        assert!(err.to_string().contains("Fewer than two classes"), "{err}");
    }
}
