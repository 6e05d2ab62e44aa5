//! What the e2e run needs of the S3 server beyond what
//! tandem-test-support's `moto` module offers: the project's keys and
//! listing a bucket.

use std::time::Duration;

use tandem_test_support::http;

/// The access key the e2e project uses (moto accepts any).
pub const S3_KEY: &str = "tandem-e2e-key";
/// The secret key the e2e project uses.
pub const S3_SECRET: &str = "tandem-e2e-secret";

const SHORT: Duration = Duration::from_secs(10);

/// Every object key in `bucket` (ListObjectsV2, following continuation tokens).
pub fn list_bucket(port: u16, bucket: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/{bucket}?list-type=2");
        if let Some(token) = &token {
            path.push_str(&format!("&continuation-token={}", http::encode(token)));
        }
        let response = http::get(port, &path, SHORT)?;
        let xml = response.text();
        if response.status != 200 {
            return Err(format!(
                "listing bucket {bucket}: HTTP {}: {}",
                response.status,
                http::clip(&xml)
            ));
        }
        keys.extend(xml_values(&xml, "Key"));
        token = xml_values(&xml, "NextContinuationToken").into_iter().next();
        if token.is_none() {
            return Ok(keys);
        }
    }
}

/// The text of every `<tag>…</tag>` element (S3 keys are XML-escaped; the
/// e2e keys need no unescaping beyond `&amp;`).
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let Some(end) = rest.find(&close) else { break };
        out.push(rest[..end].replace("&amp;", "&"));
        rest = &rest[end + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_values_are_extracted() {
        let xml = "<R><Contents><Key>a/b.csv</Key></Contents><Contents><Key>c&amp;d</Key>\
                   </Contents><NextContinuationToken>t1</NextContinuationToken></R>";
        assert_eq!(xml_values(xml, "Key"), ["a/b.csv", "c&d"]);
        assert_eq!(xml_values(xml, "NextContinuationToken"), ["t1"]);
    }
}
