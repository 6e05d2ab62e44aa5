//! `matplotlib.MatplotlibWriter` through the registry, on real files: PNGs
//! whose header and IHDR size are what the figure and `save_args` ask
//! for, with something drawn on them; SVGs that are XML with an `<svg>`
//! root; versioned saves; errors that name the entry.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tandem_catalog::{Dataset, DatasetConfig, DatasetRegistry, Version};
use tandem_pipeline_core::Data;
use tandem_plots::{Figure, Heatmap};

fn registry() -> DatasetRegistry {
    let mut registry = DatasetRegistry::with_builtins();
    tandem_plots::register(&mut registry);
    registry
}

fn config(name: &str, type_name: &str, options: Value) -> DatasetConfig {
    DatasetConfig::new(name, type_name, options.as_object().unwrap().clone())
}

fn build(name: &str, options: Value) -> Arc<dyn Dataset> {
    registry()
        .build(&config(name, "matplotlib.MatplotlibWriter", options))
        .unwrap()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn roc() -> Figure {
    Figure::axes("ROC curve")
        .x_label("false positive rate")
        .y_label("true positive rate")
        .x_range(0.0, 1.0)
        .y_range(0.0, 1.0)
        .line(
            "model",
            vec![(0.0, 0.0), (0.1, 0.6), (0.4, 0.9), (1.0, 1.0)],
        )
        .dashed_line("chance", vec![(0.0, 0.0), (1.0, 1.0)])
        .scatter("threshold 0.5", vec![(0.1, 0.6)])
}

/// The PNG signature, then IHDR's width and height, read from the bytes.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG signature");
    assert_eq!(&bytes[8..12], &13_u32.to_be_bytes(), "IHDR length");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is not IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

/// The decoded pixels: (distinct colours, share of non-white pixels).
fn pixels(bytes: &[u8]) -> (usize, f64) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let rgb = &buf[..info.buffer_size()];
    let mut colours: Vec<&[u8]> = rgb.chunks(3).collect();
    let non_white = colours.iter().filter(|p| **p != [255, 255, 255]).count();
    let share = non_white as f64 / colours.len() as f64;
    colours.sort_unstable();
    colours.dedup();
    (colours.len(), share)
}

#[test]
fn a_figure_saves_as_a_png_of_its_size_with_lines_text_and_markers_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reporting/roc.png");
    let dataset = build("roc_curve", json!({"filepath": path_str(&path)}));
    dataset.save(Data::new(roc())).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // Matplotlib's default: 6.4 x 4.8 in at 100 dpi.
    assert_eq!(png_size(&bytes), (640, 480));
    let (colours, ink) = pixels(&bytes);
    // Antialiased text and two palette colours give many shades; an empty
    // white image has one.
    assert!(colours > 20, "only {colours} colours drawn");
    assert!(ink > 0.01 && ink < 0.5, "{ink} of the image is drawn");
    assert!(dataset.exists().unwrap());
    assert_eq!(dataset.describe().type_name, "MatplotlibWriter");
}

#[test]
fn save_args_dpi_scales_the_image_and_is_recorded_in_phys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roc.png");
    let dataset = build(
        "roc_curve",
        json!({"filepath": path_str(&path), "save_args": {"dpi": 150, "format": "png"}}),
    );
    dataset.save(Data::new(roc().size(4.0, 3.0))).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(png_size(&bytes), (600, 450));
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let reader = decoder.read_info().unwrap();
    let dims = reader.info().pixel_dims.unwrap();
    // 150 dpi = 5906 pixels per metre.
    assert_eq!((dims.xppu, dims.unit), (5906, png::Unit::Meter));
}

#[test]
fn a_confusion_matrix_saves_as_an_svg_document_with_its_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("confusion.SVG");
    let dataset = build("confusion_matrix", json!({"filepath": path_str(&path)}));
    let figure = Figure::confusion_matrix(
        "Confusion matrix",
        &["stays", "churns"],
        &[vec![812, 41], vec![97, 150]],
    );
    dataset.save(Data::new(figure)).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();

    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut root = None;
    let mut texts = Vec::new();
    let mut in_text = false;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                in_text = name == "text";
                root.get_or_insert(name);
            }
            quick_xml::events::Event::Empty(e) => {
                root.get_or_insert(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
            }
            quick_xml::events::Event::Text(t) if in_text => {
                texts.push(t.decode().unwrap().trim().to_owned());
            }
            quick_xml::events::Event::End(_) => in_text = false,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    for expected in [
        "Confusion matrix",
        "stays",
        "churns",
        "812",
        "41",
        "97",
        "150",
        "predicted",
        "actual",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "no <text> '{expected}' in {texts:?}"
        );
    }
    assert!(svg.contains(r#"width="640""#), "{}", &svg[..200]);
}

#[test]
fn save_args_format_wins_over_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plot.img");
    let dataset = build(
        "plot",
        json!({"filepath": path_str(&path), "save_args": {"format": "svg"}}),
    );
    dataset.save(Data::new(roc())).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.trim_start().starts_with("<svg"), "{}", &text[..80]);
}

#[test]
fn versioned_saves_keep_each_image_under_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roc.png");
    let registry = registry();
    for version in ["2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"] {
        let mut config = config(
            "roc_curve",
            "matplotlib.MatplotlibWriter",
            json!({"filepath": path_str(&path)}),
        );
        config.version = Some(Version {
            load: None,
            save: Some(version.to_owned()),
            ..Default::default()
        });
        let dataset = registry.build(&config).unwrap();
        let dpi = if version.starts_with("2026-01-01") {
            50.0
        } else {
            100.0
        };
        dataset.save(Data::new(roc().dpi(dpi))).unwrap();
        assert!(dataset.describe().versioned);
    }
    let first = std::fs::read(path.join("2026-01-01T00.00.00.000Z/roc.png")).unwrap();
    let second = std::fs::read(path.join("2026-01-02T00.00.00.000Z/roc.png")).unwrap();
    assert_eq!(png_size(&first), (320, 240));
    assert_eq!(png_size(&second), (640, 480));
}

#[test]
fn configuration_errors_name_the_entry() {
    let registry = registry();
    let cases = [
        (
            json!({"filepath": "plots/roc.pdf"}),
            "end the filepath in .png or .svg",
        ),
        (
            json!({"filepath": "roc.png", "save_args": {"dpi": 0}}),
            "dpi",
        ),
        (
            json!({"filepath": "roc.png", "save_args": {"bbox": "tight"}}),
            "save_args",
        ),
        (
            json!({"filepath": "roc.png", "save_args": {"format": "pdf"}}),
            "save_args",
        ),
        (
            json!({"filepath": "roc.png", "fs_args": {"auto_mkdir": true}}),
            "fs_args",
        ),
    ];
    for (options, expected) in cases {
        let error = registry
            .build(&config(
                "roc_curve",
                "matplotlib.MatplotlibWriter",
                options.clone(),
            ))
            .unwrap_err();
        let message = error.to_string();
        assert_eq!(error.kind(), "invalid_config", "{options}: {message}");
        assert!(message.contains("roc_curve"), "{options}: {message}");
        assert!(message.contains(expected), "{options}: {message}");
    }
}

#[test]
fn saving_a_bad_figure_or_another_type_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roc.png");
    let dataset = build("roc_curve", json!({"filepath": path_str(&path)}));

    let error = dataset
        .save(Data::new(
            Figure::axes("t").line("model", vec![(0.0, f64::NAN)]),
        ))
        .unwrap_err();
    assert_eq!(error.kind(), "invalid_figure");
    assert!(error.to_string().contains("series 'model'"), "{error}");
    assert!(error.to_string().contains("roc.png"), "{error}");

    let ragged = Heatmap {
        columns: vec!["a".into(), "b".into()],
        rows: vec!["a".into()],
        values: vec![vec![1.0]],
        ..Heatmap::default()
    };
    let error = dataset
        .save(Data::new(Figure::heatmap("t", ragged)))
        .unwrap_err();
    assert_eq!(error.kind(), "invalid_figure", "{error}");

    let error = dataset.save(Data::new(roc().size(400.0, 3.0))).unwrap_err();
    assert!(error.to_string().contains("between 1 and 16384"), "{error}");

    let error = dataset.save(Data::new(String::from("roc"))).unwrap_err();
    assert_eq!(error.kind(), "type_mismatch");
    assert!(error.to_string().contains("MatplotlibWriter"), "{error}");

    assert!(!path.exists());
    assert!(!dataset.exists().unwrap());
}

#[test]
fn loading_is_refused_as_kedros_writer_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roc.png");
    let dataset = build("roc_curve", json!({"filepath": path_str(&path)}));
    dataset.save(Data::new(roc())).unwrap();
    let error = dataset.load().unwrap_err();
    assert!(error.to_string().contains("save only"), "{error}");
}

#[test]
fn the_kedro_dataset_name_is_an_alias_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roc.svg");
    let dataset = registry()
        .build(&config(
            "roc_curve",
            "kedro_datasets.matplotlib.MatplotlibDataset",
            json!({"filepath": path_str(&path)}),
        ))
        .unwrap();
    dataset.save(Data::new(roc())).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("<svg"));
}
