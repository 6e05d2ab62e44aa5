//! pandas' `compression` argument for text files: `infer` (the default:
//! by the file's extension), a codec name in any case, a `{method: ...}`
//! mapping, or null for none.

use std::io::{Read, Write};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The argument as written in catalog.yml.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub(crate) enum CompressionArg {
    /// `gzip`, `GZIP`, `infer`...
    Name(String),
    /// `{method: gzip, compresslevel: 1}`: only `method` matters here.
    Options {
        /// The codec.
        method: Option<String>,
        /// Other options pandas passes to the codec; accepted.
        #[serde(flatten)]
        rest: serde_json::Map<String, serde_json::Value>,
    },
}

/// `compression` as an entry sets it: absent (`None`, inferred), null
/// (`Some(None)`, no compression) or a codec.
pub(crate) type CompressionSetting = Option<Option<CompressionArg>>;

/// Keeps an explicit `compression: null` apart from an absent key.
pub(crate) fn explicit<'de, D>(deserializer: D) -> Result<CompressionSetting, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Some(Option::deserialize(deserializer)?))
}

/// A codec tandem can read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    Bz2,
    Zstd,
}

/// What `setting` means for a file at `filepath`: `None` is no compression.
pub(crate) fn resolve(
    setting: &CompressionSetting,
    filepath: &str,
) -> Result<Option<Codec>, String> {
    let name = match setting.as_ref().map(Option::as_ref) {
        None => "infer".to_owned(),
        Some(None) => return Ok(None),
        Some(Some(arg)) => match arg {
            CompressionArg::Name(name) => name.to_ascii_lowercase(),
            CompressionArg::Options { method: None, .. } => "infer".to_owned(),
            CompressionArg::Options {
                method: Some(method),
                ..
            } => method.to_ascii_lowercase(),
        },
    };
    match name.as_str() {
        "infer" => Ok(infer(filepath)),
        "none" | "" => Ok(None),
        "gzip" | "gz" => Ok(Some(Codec::Gzip)),
        "bz2" => Ok(Some(Codec::Bz2)),
        "zstd" => Ok(Some(Codec::Zstd)),
        other => Err(format!(
            "compression '{other}' is not supported (infer, gzip, bz2, zstd or null)"
        )),
    }
}

/// pandas' inference: by the last extension, in any case.
fn infer(filepath: &str) -> Option<Codec> {
    let lower = filepath.to_ascii_lowercase();
    if lower.ends_with(".gz") {
        Some(Codec::Gzip)
    } else if lower.ends_with(".bz2") {
        Some(Codec::Bz2)
    } else if lower.ends_with(".zst") {
        Some(Codec::Zstd)
    } else {
        None
    }
}

/// `bytes` compressed with `codec`.
pub(crate) fn compress(codec: Option<Codec>, bytes: Bytes) -> Result<Bytes, String> {
    let Some(codec) = codec else {
        return Ok(bytes);
    };
    let out = match codec {
        Codec::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&bytes).map_err(|e| e.to_string())?;
            encoder.finish().map_err(|e| e.to_string())?
        }
        Codec::Bz2 => {
            let mut encoder =
                bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            encoder.write_all(&bytes).map_err(|e| e.to_string())?;
            encoder.finish().map_err(|e| e.to_string())?
        }
        Codec::Zstd => zstd::stream::encode_all(&bytes[..], 3).map_err(|e| e.to_string())?,
    };
    Ok(Bytes::from(out))
}

/// `bytes` decompressed with `codec`.
pub(crate) fn decompress(codec: Option<Codec>, bytes: Bytes) -> Result<Bytes, String> {
    let Some(codec) = codec else {
        return Ok(bytes);
    };
    let mut out = Vec::new();
    let read = match codec {
        Codec::Gzip => flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out),
        Codec::Bz2 => bzip2::read::MultiBzDecoder::new(&bytes[..]).read_to_end(&mut out),
        Codec::Zstd => {
            zstd::stream::read::Decoder::new(&bytes[..]).and_then(|mut d| d.read_to_end(&mut out))
        }
    };
    read.map_err(|e| format!("not {codec:?}-compressed: {e}"))?;
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_case_and_inference() {
        let name = |n: &str| Some(Some(CompressionArg::Name(n.to_owned())));
        assert_eq!(resolve(&None, "a.csv.gz"), Ok(Some(Codec::Gzip)));
        assert_eq!(resolve(&None, "a.CSV.BZ2"), Ok(Some(Codec::Bz2)));
        assert_eq!(resolve(&None, "a.csv"), Ok(None));
        assert_eq!(resolve(&Some(None), "a.csv.gz"), Ok(None));
        assert_eq!(resolve(&name("GZIP"), "a.csv"), Ok(Some(Codec::Gzip)));
        assert_eq!(resolve(&name("Zstd"), "a.csv"), Ok(Some(Codec::Zstd)));
        assert_eq!(resolve(&name("None"), "a.csv.gz"), Ok(None));
        assert!(resolve(&name("lzma"), "a.csv").is_err());
        let options: CompressionArg =
            serde_json::from_value(serde_json::json!({"method": "gzip", "compresslevel": 1}))
                .unwrap();
        assert_eq!(
            resolve(&Some(Some(options)), "a.csv"),
            Ok(Some(Codec::Gzip))
        );
    }

    #[test]
    fn every_codec_round_trips() {
        for codec in [Codec::Gzip, Codec::Bz2, Codec::Zstd] {
            let data = Bytes::from_static(b"a,b\n1,2\n");
            let packed = compress(Some(codec), data.clone()).unwrap();
            assert_ne!(packed, data);
            assert_eq!(decompress(Some(codec), packed).unwrap(), data);
        }
        assert!(decompress(Some(Codec::Gzip), Bytes::from_static(b"plain")).is_err());
    }
}
