//! `plotly.PlotlyDataset`: a plotly figure built from a table, as Kedro
//! builds one from a DataFrame with plotly express and `plotly_args`.

use std::collections::BTreeMap;

use arrow_array::{Array, RecordBatch};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tandem_catalog::{DatasetConfig, Error, FileFormat};
use tandem_pipeline_core::Data;

use crate::options;
use crate::plotly_json::{JsonArgs, figure_of};

/// The chart types of `plotly_args.type`, each one plotly express function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartType {
    /// Markers (`px.scatter`).
    Scatter,
    /// Lines (`px.line`).
    Line,
    /// Lines filled to zero (`px.area`).
    Area,
    /// Bars (`px.bar`).
    Bar,
    /// A histogram of `x` (`px.histogram`).
    Histogram,
    /// Box plots (`px.box`).
    Box,
    /// Violin plots (`px.violin`).
    Violin,
    /// A pie of `values` by `names` (`px.pie`).
    Pie,
}

/// `plotly_args.fig`: the plotly express arguments naming columns, and
/// the few others that shape the traces.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FigArgs {
    /// The x column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y column, or several (one trace each, plotly express's wide form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<OneOrMany>,
    /// A column splitting the rows into one trace per distinct value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// A column of per-point text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Pie sector names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<String>,
    /// Pie sector values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// `h` or `v`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<String>,
    /// The figure title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Axis titles by column name (plotly express's `labels`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// One column name or a list of them.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single column.
    One(String),
    /// Several columns.
    Many(Vec<String>),
}

impl OneOrMany {
    fn columns(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(c) => vec![c.as_str()],
            OneOrMany::Many(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

/// `plotly_args`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlotlyArgs {
    /// The chart type.
    #[serde(rename = "type")]
    pub chart: ChartType,
    /// Which columns go where.
    #[serde(default)]
    pub fig: FigArgs,
    /// Layout settings, with plotly's "magic underscores"
    /// (`xaxis_title: x` is `layout.xaxis.title.text`).
    #[serde(default)]
    pub layout: Map<String, Value>,
}

impl PlotlyArgs {
    /// The figure these arguments make of `batches`.
    pub fn figure(&self, batches: &[RecordBatch]) -> Result<Value, crate::Error> {
        let fig = &self.fig;
        let column = |name: &str| column_values(batches, name);
        let mut traces = Vec::new();
        if self.chart == ChartType::Pie {
            let (names, values) = match (&fig.names, &fig.values) {
                (Some(n), Some(v)) => (n, v),
                _ => {
                    return Err(crate::Error::Plotly(
                        "a pie needs fig.names and fig.values".to_owned(),
                    ));
                }
            };
            traces
                .push(json!({"type": "pie", "labels": column(names)?, "values": column(values)?}));
        } else {
            let ys: Vec<&str> = fig.y.as_ref().map(OneOrMany::columns).unwrap_or_default();
            if fig.x.is_none() && ys.is_empty() {
                return Err(crate::Error::Plotly(format!(
                    "a {} chart needs fig.x or fig.y",
                    chart_name(self.chart)
                )));
            }
            let x = fig.x.as_deref().map(column).transpose()?;
            let text = fig.text.as_deref().map(column).transpose()?;
            let groups = match &fig.color {
                Some(color) => groups(&column(color)?),
                None => vec![(None, None)],
            };
            let y_columns: Vec<Option<&str>> = if ys.is_empty() {
                vec![None]
            } else {
                ys.iter().copied().map(Some).collect()
            };
            for y_name in &y_columns {
                let y = y_name.map(column).transpose()?;
                for (group, rows) in &groups {
                    let pick = |values: &Option<Vec<Value>>| {
                        values.as_ref().map(|v| select(v, rows.as_deref()))
                    };
                    let mut trace = self.trace();
                    insert(&mut trace, "x", pick(&x));
                    insert(&mut trace, "y", pick(&y));
                    insert(&mut trace, "text", pick(&text));
                    insert(
                        &mut trace,
                        "orientation",
                        fig.orientation.clone().map(Value::from),
                    );
                    let name = match (group, y_columns.len() > 1) {
                        (Some(g), _) => Some(g.clone()),
                        (None, true) => y_name.map(str::to_owned),
                        (None, false) => None,
                    };
                    if let Some(name) = name {
                        trace.insert("name".to_owned(), Value::from(name));
                        trace.insert("showlegend".to_owned(), Value::Bool(true));
                    }
                    traces.push(Value::Object(trace));
                }
            }
        }
        Ok(json!({"data": traces, "layout": self.layout_json()}))
    }

    /// A trace of this chart type, before its data.
    fn trace(&self) -> Map<String, Value> {
        let trace = match self.chart {
            ChartType::Scatter => json!({"type": "scatter", "mode": "markers"}),
            ChartType::Line => json!({"type": "scatter", "mode": "lines"}),
            ChartType::Area => json!({"type": "scatter", "mode": "lines", "fill": "tozeroy"}),
            ChartType::Bar => json!({"type": "bar"}),
            ChartType::Histogram => json!({"type": "histogram"}),
            ChartType::Box => json!({"type": "box"}),
            ChartType::Violin => json!({"type": "violin"}),
            ChartType::Pie => json!({"type": "pie"}),
        };
        match trace {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// The layout: axis titles from the column names (as plotly express
    /// sets them), the title, then `layout` with its magic underscores.
    fn layout_json(&self) -> Value {
        let fig = &self.fig;
        let mut layout = Value::Object(Map::new());
        let label = |column: &str| fig.labels.get(column).cloned().unwrap_or(column.to_owned());
        if self.chart != ChartType::Pie {
            if let Some(x) = &fig.x {
                set_path(
                    &mut layout,
                    &["xaxis", "title", "text"],
                    Value::from(label(x)),
                );
            }
            if let Some(OneOrMany::One(y)) = &fig.y {
                set_path(
                    &mut layout,
                    &["yaxis", "title", "text"],
                    Value::from(label(y)),
                );
            }
        }
        if let Some(title) = &fig.title {
            set_path(&mut layout, &["title", "text"], Value::from(title.clone()));
        }
        for (key, value) in &self.layout {
            let path = magic_path(key);
            let mut value = value.clone();
            // plotly accepts a bare string for a title and stores it as its text.
            if path.last() == Some(&"title")
                && let Value::String(text) = value
            {
                value = json!({"text": text});
            }
            set_path(&mut layout, &path, value);
        }
        layout
    }
}

fn chart_name(chart: ChartType) -> String {
    serde_json::to_value(chart)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Layout properties that take magic-underscore paths; any other key
/// (`plot_bgcolor`, `paper_bgcolor`, `barmode`...) is one property whose
/// name happens to contain an underscore.
fn magic_path(key: &str) -> Vec<&str> {
    const CONTAINERS: &[&str] = &[
        "xaxis",
        "yaxis",
        "title",
        "legend",
        "font",
        "margin",
        "hoverlabel",
        "coloraxis",
        "scene",
        "polar",
    ];
    match key.split_once('_') {
        Some((head, _))
            if CONTAINERS.contains(&head)
                || (head.starts_with("xaxis") || head.starts_with("yaxis"))
                    && head[5..].chars().all(|c| c.is_ascii_digit()) =>
        {
            key.split('_').collect()
        }
        _ => vec![key],
    }
}

fn set_path(target: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = target;
    for key in parents {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { return };
        node = map
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        // A title given as a string, then refined by `title_font`: keep its text.
        if let Value::String(text) = node {
            *node = json!({"text": text.clone()});
        }
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(map) = node {
        map.insert((*last).to_owned(), value);
    }
}

fn insert(trace: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        trace.insert(key.to_owned(), value);
    }
}

/// The rows of each distinct value of `color`, in order of first appearance.
fn groups(color: &[Value]) -> Vec<(Option<String>, Option<Vec<usize>>)> {
    let mut order: Vec<String> = Vec::new();
    let mut rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (row, value) in color.iter().enumerate() {
        let key = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        rows.entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(row);
    }
    order
        .into_iter()
        .map(|key| {
            let rows = rows.remove(&key);
            (Some(key), rows)
        })
        .collect()
}

fn select(values: &[Value], rows: Option<&[usize]>) -> Value {
    match rows {
        None => Value::Array(values.to_vec()),
        Some(rows) => Value::Array(
            rows.iter()
                .filter_map(|&r| values.get(r).cloned())
                .collect(),
        ),
    }
}

/// A column of every batch as JSON values (nulls as `null`).
fn column_values(batches: &[RecordBatch], name: &str) -> Result<Vec<Value>, crate::Error> {
    let mut values = Vec::new();
    for batch in batches {
        let Some(array) = batch.column_by_name(name) else {
            let columns: Vec<&str> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            return Err(crate::Error::Plotly(format!(
                "no column '{name}' in the table (columns: {})",
                columns.join(", ")
            )));
        };
        append_json(array.as_ref(), name, &mut values)?;
    }
    Ok(values)
}

fn append_json(array: &dyn Array, name: &str, out: &mut Vec<Value>) -> Result<(), crate::Error> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::DataType;

    macro_rules! numbers {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            out.extend((0..a.len()).map(|i| {
                if a.is_null(i) {
                    Value::Null
                } else {
                    json!(a.value(i))
                }
            }));
        }};
    }
    match array.data_type() {
        DataType::Int8 => numbers!(Int8Type),
        DataType::Int16 => numbers!(Int16Type),
        DataType::Int32 => numbers!(Int32Type),
        DataType::Int64 => numbers!(Int64Type),
        DataType::UInt8 => numbers!(UInt8Type),
        DataType::UInt16 => numbers!(UInt16Type),
        DataType::UInt32 => numbers!(UInt32Type),
        DataType::UInt64 => numbers!(UInt64Type),
        DataType::Float32 => numbers!(Float32Type),
        // Non-finite floats have no JSON form; plotly reads null as a gap.
        DataType::Float64 => numbers!(Float64Type),
        DataType::Boolean => {
            let a = array.as_boolean();
            out.extend((0..a.len()).map(|i| {
                if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Bool(a.value(i))
                }
            }));
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            out.extend(a.iter().map(|v| v.map_or(Value::Null, Value::from)));
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            out.extend(a.iter().map(|v| v.map_or(Value::Null, Value::from)));
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            out.extend(a.iter().map(|v| v.map_or(Value::Null, Value::from)));
        }
        other => {
            return Err(crate::Error::Plotly(format!(
                "column '{name}' is {other}; plotted columns must be integers, floats, booleans \
                 or strings"
            )));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    filepath: String,
    plotly_args: Value,
    #[serde(default)]
    load_args: Option<Value>,
    #[serde(default)]
    save_args: Option<Value>,
    #[serde(default)]
    fs_args: Option<Map<String, Value>>,
}

/// A figure built from a table node output (Kedro's `plotly.PlotlyDataset`):
/// saves an `arrow_array::RecordBatch` (or a `Vec` of them) as the figure
/// `plotly_args` describe, and also a ready figure's JSON as
/// `plotly.JSONDataset` does; loads the figure's JSON.
#[derive(Debug)]
pub struct PlotlyFormat {
    plotly_args: PlotlyArgs,
    args: JsonArgs,
}

impl PlotlyFormat {
    /// The parsed `plotly_args`.
    pub fn plotly_args(&self) -> &PlotlyArgs {
        &self.plotly_args
    }
}

impl FileFormat for PlotlyFormat {
    const TYPE_NAME: &'static str = "PlotlyDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let opts: Options = config.options_as()?;
        options::reject_fs_args(config, opts.fs_args.as_ref())?;
        let plotly_args = PlotlyArgs::deserialize(opts.plotly_args)
            .map_err(|e| Error::config(&config.name, format!("plotly_args: {e}")))?;
        let args = JsonArgs::parse(config, opts.load_args, opts.save_args)?;
        Ok((opts.filepath, PlotlyFormat { plotly_args, args }))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let batches: Option<&[RecordBatch]> = if let Ok(batch) = data.downcast_ref::<RecordBatch>()
        {
            Some(std::slice::from_ref(batch))
        } else if let Ok(batches) = data.downcast_ref::<Vec<RecordBatch>>() {
            Some(batches.as_slice())
        } else {
            None
        };
        let figure = match batches {
            Some(batches) => self
                .plotly_args
                .figure(batches)
                .map_err(|e| e.into_catalog(location))?,
            None => figure_of(data, "plotly.PlotlyDataset")?,
        };
        self.args.encode(figure, location)
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        self.args.decode(&bytes, location)
    }

    fn details(&self) -> Map<String, Value> {
        let mut details = self.args.details();
        if let Ok(args) = serde_json::to_value(&self.plotly_args) {
            details.insert("plotly_args".to_owned(), args);
        }
        details
    }
}
