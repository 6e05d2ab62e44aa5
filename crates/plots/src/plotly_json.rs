//! `plotly.JSONDataset`: a plotly figure as a JSON document.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tandem_catalog::{DatasetConfig, Error, FileFormat};
use tandem_pipeline_core::Data;

use crate::options;

/// `save_args`, as Kedro passes them to `plotly.io.write_json`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SaveArgs {
    /// Indent the document (plotly indents by 2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pretty: bool,
    /// Indent by this many spaces (json.JSONDataset's option; implies `pretty`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    indent: Option<usize>,
    /// Drop each trace's `uid`, as plotly does by default.
    #[serde(default = "yes")]
    remove_uids: bool,
    /// Check the figure's shape before writing.
    #[serde(default = "yes")]
    validate: bool,
    /// plotly's JSON encoder (`auto`, `json`, `orjson`): the bytes are the
    /// same JSON whichever Python would pick, so it is accepted and unused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    engine: Option<Engine>,
}

fn yes() -> bool {
    true
}

impl Default for SaveArgs {
    fn default() -> Self {
        SaveArgs {
            pretty: false,
            indent: None,
            remove_uids: true,
            validate: true,
            engine: None,
        }
    }
}

/// plotly's JSON engines.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Engine {
    Auto,
    Json,
    Orjson,
}

/// `load_args`, as Kedro passes them to `plotly.io.read_json`. A load gives
/// the figure's JSON, which is what both output types serialize to.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoadArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output_type: Option<OutputType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skip_invalid: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    engine: Option<Engine>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
pub(crate) enum OutputType {
    Figure,
    FigureWidget,
}

/// The options both plotly datasets share.
#[derive(Debug)]
pub(crate) struct JsonArgs {
    pub(crate) load_args: LoadArgs,
    pub(crate) save_args: SaveArgs,
}

impl JsonArgs {
    pub(crate) fn parse(
        config: &DatasetConfig,
        load_args: Option<serde_json::Value>,
        save_args: Option<serde_json::Value>,
    ) -> Result<JsonArgs, Error> {
        Ok(JsonArgs {
            load_args: options::args(config, "load_args", load_args)?,
            save_args: options::args(config, "save_args", save_args)?,
        })
    }

    /// The document for `figure`, checked and formatted as `save_args` say.
    pub(crate) fn encode(
        &self,
        mut figure: serde_json::Value,
        location: &str,
    ) -> Result<Bytes, Error> {
        let error = |message: String| Error::Format {
            format: "plotly json",
            location: location.to_owned(),
            message,
        };
        if self.save_args.validate {
            check_figure(&figure).map_err(error)?;
        }
        if self.save_args.remove_uids
            && let Some(traces) = figure.get_mut("data").and_then(|d| d.as_array_mut())
        {
            for trace in traces.iter_mut().filter_map(|t| t.as_object_mut()) {
                trace.remove("uid");
            }
        }
        let indent = match (self.save_args.indent, self.save_args.pretty) {
            (Some(width), _) => Some(width),
            (None, true) => Some(2),
            (None, false) => None,
        };
        let encoded = match indent {
            None => serde_json::to_vec(&figure),
            Some(width) => {
                let indent = vec![b' '; width];
                let mut out = Vec::new();
                let formatter = serde_json::ser::PrettyFormatter::with_indent(&indent);
                let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
                figure.serialize(&mut serializer).map(|()| out)
            }
        };
        encoded.map(Bytes::from).map_err(|e| error(e.to_string()))
    }

    pub(crate) fn decode(&self, bytes: &[u8], location: &str) -> Result<Data, Error> {
        let figure: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error::Format {
                format: "plotly json",
                location: location.to_owned(),
                message: e.to_string(),
            })?;
        check_figure(&figure).map_err(|message| Error::Format {
            format: "plotly json",
            location: location.to_owned(),
            message,
        })?;
        Ok(Data::json(figure))
    }

    pub(crate) fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        options::details(&[
            (
                "load_args",
                serde_json::to_value(&self.load_args).unwrap_or_default(),
            ),
            (
                "save_args",
                serde_json::to_value(&self.save_args).unwrap_or_default(),
            ),
        ])
    }
}

/// The top-level shape plotly's `Figure` accepts: an object whose `data`
/// is a list of trace objects, each with a string `type` when it has one,
/// and whose `layout` is an object; besides them only `frames` and the
/// plotly.js `config` that `plotly.io.read_json` also accepts. Python
/// plotly drops any other top-level key without a word, so a figure
/// holding one is refused rather than saved to lose it.
pub(crate) fn check_figure(figure: &serde_json::Value) -> Result<(), String> {
    let object = figure
        .as_object()
        .ok_or_else(|| format!("a plotly figure is a JSON object, not {}", kind(figure)))?;
    for key in object.keys() {
        if !matches!(key.as_str(), "data" | "layout" | "frames" | "config") {
            return Err(format!(
                "a plotly figure has only 'data', 'layout', 'frames' and 'config'; found '{key}'"
            ));
        }
    }
    if let Some(data) = object.get("data") {
        let traces = data
            .as_array()
            .ok_or_else(|| format!("'data' must be a list of traces, not {}", kind(data)))?;
        for (index, trace) in traces.iter().enumerate() {
            let trace = trace
                .as_object()
                .ok_or_else(|| format!("trace {index} must be an object, not {}", kind(trace)))?;
            if let Some(kind_value) = trace.get("type")
                && !kind_value.is_string()
            {
                return Err(format!("trace {index}: 'type' must be a string"));
            }
        }
    }
    if let Some(layout) = object.get("layout")
        && !layout.is_object()
    {
        return Err(format!("'layout' must be an object, not {}", kind(layout)));
    }
    Ok(())
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The JSON of a plotly.rs figure, as a plotly figure: its traces and
/// layout (plotly.rs also serializes the plotly.js `config`, which Python
/// plotly's `Figure` does not keep, so it is left out). `plotly::Plot` holds its traces as non-`Send` trait
/// objects, so nodes pass figures between them as this JSON.
///
/// ```
/// use plotly::{Plot, Scatter};
///
/// let mut plot = Plot::new();
/// plot.add_trace(Scatter::new(vec![1, 2, 3], vec![4, 1, 2]));
/// let figure = tandem_plots::plotly_figure(&plot);
/// assert_eq!(figure["data"][0]["type"], "scatter");
/// assert!(figure.get("config").is_none());
/// ```
pub fn plotly_figure(plot: &plotly::Plot) -> serde_json::Value {
    let mut value = serde_json::to_value(plot).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("config");
        if object.get("frames").is_some_and(serde_json::Value::is_null) {
            object.remove("frames");
        }
    }
    value
}

/// The figure JSON held by `data`: a `serde_json::Value` (what a load gives
/// and [`plotly_figure`] returns) or any value with a JSON form.
pub(crate) fn figure_of(data: &Data, dataset: &'static str) -> Result<serde_json::Value, Error> {
    if let Ok(value) = data.downcast_ref::<serde_json::Value>() {
        return Ok(value.clone());
    }
    match data.to_json() {
        Some(Ok(value)) => Ok(value),
        _ => Err(options::type_mismatch(
            "serde_json::Value (a plotly figure's JSON)",
            data,
            dataset,
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    filepath: String,
    #[serde(default)]
    load_args: Option<serde_json::Value>,
    #[serde(default)]
    save_args: Option<serde_json::Value>,
    #[serde(default)]
    fs_args: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A plotly figure as JSON (Kedro's `plotly.JSONDataset`): saves a
/// figure's JSON, loads it back as a `serde_json::Value`.
#[derive(Debug)]
pub struct PlotlyJsonFormat {
    args: JsonArgs,
}

impl FileFormat for PlotlyJsonFormat {
    const TYPE_NAME: &'static str = "PlotlyJSONDataset";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let opts: Options = config.options_as()?;
        options::reject_fs_args(config, opts.fs_args.as_ref())?;
        let args = JsonArgs::parse(config, opts.load_args, opts.save_args)?;
        Ok((opts.filepath, PlotlyJsonFormat { args }))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let figure = figure_of(data, "plotly.JSONDataset")?;
        self.args.encode(figure, location)
    }

    fn decode(&self, bytes: Bytes, location: &str) -> Result<Data, Error> {
        self.args.decode(&bytes, location)
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        self.args.details()
    }
}
