//! Drawing a [`Figure`] with plotters: into an RGB buffer encoded as PNG,
//! or into an SVG document.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::Error;
use crate::figure::{Axes, Content, Figure, Heatmap, SeriesStyle};
use crate::font::{self, FAMILY};

/// Matplotlib sizes text in points (1/72 in); pixels scale with the dpi.
const POINTS_PER_INCH: f64 = 72.0;
const TITLE_PT: f64 = 12.0;
const LABEL_PT: f64 = 10.0;
const TICK_PT: f64 = 8.0;
const METRES_PER_INCH: f64 = 0.0254;

/// Matplotlib's "tab10" cycle, so figures look like the ones Kedro users know.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

impl Figure {
    /// The figure as a PNG image at its own dpi.
    pub fn to_png(&self) -> Result<Vec<u8>, Error> {
        self.to_png_at(self.dpi)
    }

    /// The figure as a PNG image at `dpi` (recorded in the file's `pHYs`
    /// chunk, as matplotlib does).
    pub fn to_png_at(&self, dpi: f64) -> Result<Vec<u8>, Error> {
        self.validate()?;
        let (width, height) = self.pixel_size(dpi)?;
        font::ensure_registered()?;
        // Both sides are at most MAX_PIXELS, so this cannot overflow.
        let mut rgb = vec![0_u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
            draw(&root, self, dpi).map_err(|message| Error::Render {
                format: "png",
                message,
            })?;
        }
        encode_png(&rgb, width, height, dpi)
    }

    /// The figure as an SVG document at its own dpi.
    pub fn to_svg(&self) -> Result<String, Error> {
        self.to_svg_at(self.dpi)
    }

    /// The figure as an SVG document whose pixel size is the figure's size
    /// at `dpi`.
    pub fn to_svg_at(&self, dpi: f64) -> Result<String, Error> {
        self.validate()?;
        let (width, height) = self.pixel_size(dpi)?;
        font::ensure_registered()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            draw(&root, self, dpi).map_err(|message| Error::Render {
                format: "svg",
                message,
            })?;
        }
        Ok(svg)
    }
}

fn encode_png(rgb: &[u8], width: u32, height: u32, dpi: f64) -> Result<Vec<u8>, Error> {
    let failed = |e: png::EncodingError| Error::Render {
        format: "png",
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // dpi is positive and bounded by the pixel-size check, so this fits a u32.
    let per_metre = (dpi / METRES_PER_INCH).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: per_metre,
        yppu: per_metre,
        unit: png::Unit::Meter,
    }));
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(rgb).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

/// Text `points` high at `dpi`, in pixels.
fn text_px(points: f64, dpi: f64) -> f64 {
    (points * dpi / POINTS_PER_INCH).max(1.0)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &Figure,
    dpi: f64,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    match &figure.content {
        Content::Axes(axes) => draw_axes(root, figure.title.as_deref(), axes, dpi),
        Content::Heatmap(heatmap) => draw_heatmap(root, figure.title.as_deref(), heatmap, dpi),
    }
    .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// A range fitting `values` with matplotlib's 5% margins; a single value
/// (or none) gets a unit-wide range around it.
fn fitted(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !min.is_finite() {
        return (0.0, 1.0);
    }
    if min == max {
        return (min - 0.5, max + 0.5);
    }
    let margin = (max - min) * 0.05;
    (min - margin, max + margin)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_axes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: Option<&str>,
    axes: &Axes,
    dpi: f64,
) -> DrawResult<DB> {
    let points = || axes.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = axes
        .x_range
        .unwrap_or_else(|| fitted(points().map(|p| p.0)));
    let (y0, y1) = axes
        .y_range
        .unwrap_or_else(|| fitted(points().map(|p| p.1)));
    let label = text_px(LABEL_PT, dpi);
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(text_px(TITLE_PT, dpi) as u32)
        .x_label_area_size((label * 3.5) as u32)
        .y_label_area_size((label * 5.0) as u32);
    if let Some(title) = title {
        builder.caption(title, (FAMILY, text_px(TITLE_PT, dpi)));
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
    let mut mesh = chart.configure_mesh();
    mesh.label_style((FAMILY, text_px(TICK_PT, dpi)))
        .axis_desc_style((FAMILY, label))
        .light_line_style(RGBColor(235, 235, 235));
    if let Some(x) = &axes.x_label {
        mesh.x_desc(x.as_str());
    }
    if let Some(y) = &axes.y_label {
        mesh.y_desc(y.as_str());
    }
    mesh.draw()?;

    let stroke = ((dpi / 100.0) * 1.5).max(1.0) as u32;
    let mut legend = false;
    for (index, series) in axes.series.iter().enumerate() {
        let color = series
            .color
            .map_or(PALETTE[index % PALETTE.len()], |c| RGBColor(c.0, c.1, c.2));
        let style = color.stroke_width(stroke);
        let points = series.points.iter().copied();
        let drawn = match series.style {
            SeriesStyle::Line => chart.draw_series(LineSeries::new(points, style))?,
            SeriesStyle::DashedLine => {
                let dash = (6.0 * dpi / 100.0).max(2.0) as u32;
                chart.draw_series(DashedLineSeries::new(points, dash, dash, style))?
            }
            SeriesStyle::Scatter => {
                let radius = (3.0 * dpi / 100.0).max(1.0) as u32;
                chart.draw_series(points.map(|p| Circle::new(p, radius, color.filled())))?
            }
        };
        if let Some(name) = &series.name {
            legend = true;
            let width = (label * 2.0) as i32;
            drawn.label(name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + width, y)], color.stroke_width(stroke))
            });
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .label_font((FAMILY, label))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .position(SeriesLabelPosition::LowerRight)
            .draw()?;
    }
    Ok(())
}

/// Matplotlib's "Blues" end points: pale for the smallest cell, dark for
/// the largest.
fn cell_color(value: f64, min: f64, max: f64) -> RGBColor {
    let t = if max > min {
        (value - min) / (max - min)
    } else {
        0.0
    };
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(lerp(247, 8), lerp(251, 48), lerp(255, 107))
}

/// A cell's value as text: integers without a fraction, others with two decimals.
fn cell_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: Option<&str>,
    heatmap: &Heatmap,
    dpi: f64,
) -> DrawResult<DB> {
    let columns = heatmap.columns.len();
    let rows = heatmap.rows.len();
    let label = text_px(LABEL_PT, dpi);
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(text_px(TITLE_PT, dpi) as u32)
        .x_label_area_size((label * 3.5) as u32)
        .y_label_area_size((label * 6.0) as u32);
    if let Some(title) = title {
        builder.caption(title, (FAMILY, text_px(TITLE_PT, dpi)));
    }
    // Cells span [i, i + 1); labels sit at the centres, i + 0.5.
    let mut chart =
        builder.build_cartesian_2d(0.0..columns.max(1) as f64, 0.0..rows.max(1) as f64)?;
    let column_label = |v: &f64| centred_label(*v, &heatmap.columns, false);
    let row_label = |v: &f64| centred_label(*v, &heatmap.rows, true);
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh()
        .x_labels(columns * 2 + 1)
        .y_labels(rows * 2 + 1)
        .x_label_formatter(&column_label)
        .y_label_formatter(&row_label)
        .label_style((FAMILY, text_px(LABEL_PT, dpi)))
        .axis_desc_style((FAMILY, label));
    if let Some(x) = &heatmap.x_label {
        mesh.x_desc(x.as_str());
    }
    if let Some(y) = &heatmap.y_label {
        mesh.y_desc(y.as_str());
    }
    mesh.draw()?;

    let values = || heatmap.values.iter().flatten().copied();
    let min = values().fold(f64::INFINITY, f64::min);
    let max = values().fold(f64::NEG_INFINITY, f64::max);
    for (r, row) in heatmap.values.iter().enumerate() {
        // Row 0 at the top, as matplotlib's imshow draws a matrix.
        let y = (rows - 1 - r) as f64;
        for (c, &value) in row.iter().enumerate() {
            let x = c as f64;
            let fill = cell_color(value, min, max);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x, y), (x + 1.0, y + 1.0)],
                fill.filled(),
            )))?;
            if heatmap.annotate {
                let dark = max > min && (value - min) / (max - min) > 0.5;
                let ink = if dark { WHITE } else { BLACK };
                let style = TextStyle::from((FAMILY, text_px(LABEL_PT, dpi)).into_font())
                    .color(&ink)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ));
                chart.draw_series(std::iter::once(Text::new(
                    cell_text(value),
                    (x + 0.5, y + 0.5),
                    style,
                )))?;
            }
        }
    }
    Ok(())
}

/// The label of the cell centred at `v` (`i + 0.5`), empty elsewhere;
/// `top_down` numbers cells from the top of the axis.
fn centred_label(v: f64, labels: &[String], top_down: bool) -> String {
    let cell = v - 0.5;
    if (cell - cell.round()).abs() > 1e-6 || cell < -1e-6 {
        return String::new();
    }
    // A non-negative whole number here, so the conversion is exact.
    let index = cell.round() as usize;
    let index = if top_down {
        match labels.len().checked_sub(1 + index) {
            Some(i) => i,
            None => return String::new(),
        }
    } else {
        index
    };
    labels.get(index).cloned().unwrap_or_default()
}
