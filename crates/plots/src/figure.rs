//! [`Figure`]: what a node returns for `MatplotlibWriter` to save, the Rust
//! counterpart of a matplotlib figure with one set of axes.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Matplotlib's default figure size, in inches.
pub const DEFAULT_SIZE: (f64, f64) = (6.4, 4.8);
/// Matplotlib's default resolution, in dots per inch.
pub const DEFAULT_DPI: f64 = 100.0;
/// The largest width or height a figure may be drawn at, in pixels, so a
/// mistyped size or dpi cannot ask for gigabytes of image buffer.
pub const MAX_PIXELS: u32 = 16_384;

/// An RGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Color(pub u8, pub u8, pub u8);

/// How a [`Series`] is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesStyle {
    /// Points joined by a solid line.
    Line,
    /// Points joined by a dashed line (a reference diagonal, a baseline).
    DashedLine,
    /// Unjoined markers.
    Scatter,
}

/// One series of (x, y) points on a figure's axes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The legend entry; a series without one is left out of the legend.
    pub name: Option<String>,
    /// How the points are drawn.
    pub style: SeriesStyle,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// The colour; `None` picks the next colour of the palette.
    pub color: Option<Color>,
}

/// Cartesian axes holding line and scatter series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Axes {
    /// The x axis label.
    pub x_label: Option<String>,
    /// The y axis label.
    pub y_label: Option<String>,
    /// The x range; `None` fits the data.
    pub x_range: Option<(f64, f64)>,
    /// The y range; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    /// The series, drawn in order.
    pub series: Vec<Series>,
}

/// A grid of values drawn as coloured cells (a confusion matrix, a
/// correlation matrix): `values[row][column]`, row 0 at the top.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    /// The x axis label (under the columns).
    pub x_label: Option<String>,
    /// The y axis label (beside the rows).
    pub y_label: Option<String>,
    /// One label per column.
    pub columns: Vec<String>,
    /// One label per row.
    pub rows: Vec<String>,
    /// The cells, row by row.
    pub values: Vec<Vec<f64>>,
    /// Whether each cell shows its value.
    pub annotate: bool,
}

/// What a figure draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// Line and scatter series on cartesian axes.
    Axes(Axes),
    /// A heatmap of labelled cells.
    Heatmap(Heatmap),
}

/// A figure: a title, a size and what it draws, saved as PNG or SVG by
/// `MatplotlibWriter`.
///
/// ```
/// use tandem_plots::Figure;
///
/// let roc = Figure::axes("ROC curve")
///     .x_label("false positive rate")
///     .y_label("true positive rate")
///     .line("model", vec![(0.0, 0.0), (0.2, 0.7), (1.0, 1.0)])
///     .dashed_line("chance", vec![(0.0, 0.0), (1.0, 1.0)]);
/// let png = roc.to_png()?;
/// assert_eq!(&png[1..4], b"PNG");
/// # Ok::<(), tandem_plots::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The title drawn above the content.
    pub title: Option<String>,
    /// Width and height in inches (matplotlib's `figsize`).
    pub size: (f64, f64),
    /// Dots per inch; the pixel size is `size * dpi`. `save_args.dpi`
    /// overrides it when saving.
    pub dpi: f64,
    /// What the figure draws.
    pub content: Content,
}

tandem_pipeline_core::data_value!(serde: Figure);

impl Figure {
    /// A figure with empty cartesian axes, at matplotlib's default size.
    pub fn axes(title: impl Into<String>) -> Figure {
        Figure::new(title, Content::Axes(Axes::default()))
    }

    /// A figure drawing `heatmap`, at matplotlib's default size.
    pub fn heatmap(title: impl Into<String>, heatmap: Heatmap) -> Figure {
        Figure::new(title, Content::Heatmap(heatmap))
    }

    /// A confusion matrix: `counts[actual][predicted]` as an annotated
    /// heatmap, actual classes as rows, predicted ones as columns.
    pub fn confusion_matrix(
        title: impl Into<String>,
        labels: &[&str],
        counts: &[Vec<u64>],
    ) -> Figure {
        let labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        Figure::heatmap(
            title,
            Heatmap {
                x_label: Some("predicted".to_owned()),
                y_label: Some("actual".to_owned()),
                columns: labels.clone(),
                rows: labels,
                // Counts are far below 2^53, so the conversion is exact.
                values: counts
                    .iter()
                    .map(|row| row.iter().map(|&c| c as f64).collect())
                    .collect(),
                annotate: true,
            },
        )
    }

    fn new(title: impl Into<String>, content: Content) -> Figure {
        let title = title.into();
        Figure {
            title: (!title.is_empty()).then_some(title),
            size: DEFAULT_SIZE,
            dpi: DEFAULT_DPI,
            content,
        }
    }

    /// Sets the size in inches.
    #[must_use]
    pub fn size(mut self, width: f64, height: f64) -> Figure {
        self.size = (width, height);
        self
    }

    /// Sets the resolution in dots per inch.
    #[must_use]
    pub fn dpi(mut self, dpi: f64) -> Figure {
        self.dpi = dpi;
        self
    }

    /// Sets the x axis label.
    #[must_use]
    pub fn x_label(mut self, label: impl Into<String>) -> Figure {
        match &mut self.content {
            Content::Axes(axes) => axes.x_label = Some(label.into()),
            Content::Heatmap(heatmap) => heatmap.x_label = Some(label.into()),
        }
        self
    }

    /// Sets the y axis label.
    #[must_use]
    pub fn y_label(mut self, label: impl Into<String>) -> Figure {
        match &mut self.content {
            Content::Axes(axes) => axes.y_label = Some(label.into()),
            Content::Heatmap(heatmap) => heatmap.y_label = Some(label.into()),
        }
        self
    }

    /// Fixes the x range of cartesian axes (no effect on a heatmap).
    #[must_use]
    pub fn x_range(mut self, min: f64, max: f64) -> Figure {
        if let Content::Axes(axes) = &mut self.content {
            axes.x_range = Some((min, max));
        }
        self
    }

    /// Fixes the y range of cartesian axes (no effect on a heatmap).
    #[must_use]
    pub fn y_range(mut self, min: f64, max: f64) -> Figure {
        if let Content::Axes(axes) = &mut self.content {
            axes.y_range = Some((min, max));
        }
        self
    }

    /// Adds a series to cartesian axes (no effect on a heatmap).
    #[must_use]
    pub fn series(mut self, series: Series) -> Figure {
        if let Content::Axes(axes) = &mut self.content {
            axes.series.push(series);
        }
        self
    }

    /// Adds a solid line named `name`.
    #[must_use]
    pub fn line(self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Figure {
        self.styled(name.into(), SeriesStyle::Line, points)
    }

    /// Adds a dashed line named `name`.
    #[must_use]
    pub fn dashed_line(self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Figure {
        self.styled(name.into(), SeriesStyle::DashedLine, points)
    }

    /// Adds scatter markers named `name`.
    #[must_use]
    pub fn scatter(self, name: impl Into<String>, points: Vec<(f64, f64)>) -> Figure {
        self.styled(name.into(), SeriesStyle::Scatter, points)
    }

    fn styled(self, name: String, style: SeriesStyle, points: Vec<(f64, f64)>) -> Figure {
        self.series(Series {
            name: (!name.is_empty()).then_some(name),
            style,
            points,
            color: None,
        })
    }

    /// The pixel size at `dpi`, checked: finite, positive and at most
    /// [`MAX_PIXELS`] a side.
    pub fn pixel_size(&self, dpi: f64) -> Result<(u32, u32), Error> {
        let side = |inches: f64, what: &str| {
            let pixels = (inches * dpi).round();
            if pixels.is_finite() && pixels >= 1.0 && pixels <= f64::from(MAX_PIXELS) {
                // In range, so the conversion is exact.
                Ok(pixels as u32)
            } else {
                Err(Error::InvalidFigure(format!(
                    "{what} {inches} in at {dpi} dpi is {pixels} pixels; it must be between 1 \
                     and {MAX_PIXELS}"
                )))
            }
        };
        Ok((side(self.size.0, "width")?, side(self.size.1, "height")?))
    }

    /// Checks what drawing relies on: finite points and ranges, a
    /// rectangular heatmap with one label per row and column.
    pub fn validate(&self) -> Result<(), Error> {
        match &self.content {
            Content::Axes(axes) => validate_axes(axes),
            Content::Heatmap(heatmap) => validate_heatmap(heatmap),
        }
    }
}

fn validate_axes(axes: &Axes) -> Result<(), Error> {
    for (axis, range) in [("x", axes.x_range), ("y", axes.y_range)] {
        if let Some((min, max)) = range
            && !(min.is_finite() && max.is_finite() && min < max)
        {
            return Err(Error::InvalidFigure(format!(
                "the {axis} range ({min}, {max}) must be finite with min < max"
            )));
        }
    }
    for (index, series) in axes.series.iter().enumerate() {
        if let Some(point) = series
            .points
            .iter()
            .position(|(x, y)| !(x.is_finite() && y.is_finite()))
        {
            let name = series
                .name
                .as_ref()
                .map_or_else(|| format!("#{index}"), |n| format!("'{n}'"));
            return Err(Error::InvalidFigure(format!(
                "series {name}: point {point} {:?} is not finite",
                series.points[point]
            )));
        }
    }
    Ok(())
}

fn validate_heatmap(heatmap: &Heatmap) -> Result<(), Error> {
    if heatmap.values.len() != heatmap.rows.len() {
        return Err(Error::InvalidFigure(format!(
            "the heatmap has {} rows of values but {} row labels",
            heatmap.values.len(),
            heatmap.rows.len()
        )));
    }
    for (index, row) in heatmap.values.iter().enumerate() {
        if row.len() != heatmap.columns.len() {
            return Err(Error::InvalidFigure(format!(
                "heatmap row {index} has {} values but there are {} column labels",
                row.len(),
                heatmap.columns.len()
            )));
        }
        if let Some(column) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidFigure(format!(
                "heatmap cell ({index}, {column}) is not finite"
            )));
        }
    }
    Ok(())
}
