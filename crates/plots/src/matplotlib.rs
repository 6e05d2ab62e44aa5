//! `matplotlib.MatplotlibWriter`: saves a [`Figure`] as a PNG or SVG image.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tandem_catalog::{DatasetConfig, Error, FileFormat, Location};
use tandem_pipeline_core::Data;

use crate::Figure;
use crate::options;

/// The image formats `MatplotlibWriter` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// A PNG bitmap.
    Png,
    /// An SVG document.
    Svg,
}

impl ImageFormat {
    /// The format a file name's extension names (`.png`, `.svg`, any case).
    pub fn from_path(path: &str) -> Option<ImageFormat> {
        let extension = path.rsplit_once('.')?.1;
        if extension.contains('/') {
            return None;
        }
        match extension.to_ascii_lowercase().as_str() {
            "png" => Some(ImageFormat::Png),
            "svg" => Some(ImageFormat::Svg),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

/// `save_args`, the subset of matplotlib's `savefig` options that mean
/// something for a plotters rendering.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SaveArgs {
    /// `png` or `svg`; without it the file extension decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<ImageFormat>,
    /// Overrides the figure's own dpi.
    #[serde(skip_serializing_if = "Option::is_none")]
    dpi: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    filepath: String,
    #[serde(default)]
    save_args: Option<serde_json::Value>,
    #[serde(default)]
    fs_args: Option<serde_json::Map<String, serde_json::Value>>,
    /// Kedro's flag for clearing a directory of figures before saving a
    /// dict of them; a single file is always replaced, so it only needs to
    /// be accepted.
    #[serde(default, rename = "overwrite")]
    _overwrite: Option<bool>,
}

/// Saves a [`Figure`] as an image (Kedro's `matplotlib.MatplotlibWriter`).
/// Save only: loading fails, as Kedro's writer's does.
#[derive(Debug)]
pub struct MatplotlibFormat {
    format: ImageFormat,
    dpi: Option<f64>,
    save_args: SaveArgs,
}

impl MatplotlibFormat {
    /// The image format files are written in.
    pub fn image_format(&self) -> ImageFormat {
        self.format
    }

    /// The image bytes of `figure` in this format.
    pub fn render(&self, figure: &Figure) -> Result<Vec<u8>, crate::Error> {
        let dpi = self.dpi.unwrap_or(figure.dpi);
        match self.format {
            ImageFormat::Png => figure.to_png_at(dpi),
            ImageFormat::Svg => figure.to_svg_at(dpi).map(String::into_bytes),
        }
    }
}

impl FileFormat for MatplotlibFormat {
    const TYPE_NAME: &'static str = "MatplotlibWriter";

    fn from_config(config: &DatasetConfig) -> Result<(String, Self), Error> {
        let opts: Options = config.options_as()?;
        options::reject_fs_args(config, opts.fs_args.as_ref())?;
        let save_args: SaveArgs = options::args(config, "save_args", opts.save_args)?;
        let format = match save_args
            .format
            .or_else(|| ImageFormat::from_path(&opts.filepath))
        {
            Some(format) => format,
            None => {
                return Err(Error::config(
                    &config.name,
                    format!(
                        "cannot tell the image format of '{}': end the filepath in .png or \
                         .svg, or set save_args.format",
                        opts.filepath
                    ),
                ));
            }
        };
        if let Some(dpi) = save_args.dpi
            && !(dpi.is_finite() && dpi > 0.0)
        {
            return Err(Error::config(
                &config.name,
                format!("save_args.dpi must be a positive number, got {dpi}"),
            ));
        }
        Ok((
            opts.filepath,
            MatplotlibFormat {
                format,
                dpi: save_args.dpi,
                save_args,
            },
        ))
    }

    fn encode(&self, data: &Data, location: &str) -> Result<Bytes, Error> {
        let figure = data.downcast_ref::<Figure>().map_err(|_| {
            options::type_mismatch("tandem_plots::Figure", data, "MatplotlibWriter")
        })?;
        self.render(figure)
            .map(Bytes::from)
            .map_err(|e| e.into_catalog(location))
    }

    fn load(&self, location: &Location) -> Result<Data, Error> {
        // Refused before any read: a missing file would otherwise report
        // "not found" and suggest saving would make it loadable.
        self.decode(Bytes::new(), location.url())
    }

    fn decode(&self, _bytes: Bytes, location: &str) -> Result<Data, Error> {
        Err(Error::Format {
            format: self.format.name(),
            location: location.to_owned(),
            message: "MatplotlibWriter is save only: an image cannot be loaded back as a Figure"
                .to_owned(),
        })
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut details = options::details(&[(
            "save_args",
            serde_json::to_value(&self.save_args).unwrap_or_default(),
        )]);
        details.insert("format".to_owned(), self.format.name().into());
        details
    }
}
