//! kedro-viz's node ids: the first 8 hex digits of a SHA-1.
//!
//! kedro-viz hashes a dataset's name (transcoding suffix removed) and a
//! task's Kedro `str(node)`, which tandem's `Node` displays identically
//! (`name: func([a;b]) -> [c]`). Modular pipelines are their namespace.
//! SHA-1 is implemented here (FIPS 180-4) because an id is all it is used
//! for: a dependency for 60 lines is not worth it.

use tandem_pipeline_core::Node;
use tandem_pipeline_core::transcoding::strip_transcoding;

/// The id of a dataset or parameters node: `sha1(name without @suffix)[..8]`.
pub(crate) fn dataset_id(name: &str) -> String {
    short_sha1(strip_transcoding(name))
}

/// The id of a task node: `sha1(str(node))[..8]`.
pub(crate) fn task_id(node: &Node) -> String {
    short_sha1(&node.to_string())
}

fn short_sha1(text: &str) -> String {
    let digest = sha1(text.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-1 digest of `data`.
pub(crate) fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_pipeline_core::NodeBuilder;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_matches_the_standard_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        // Two blocks: the padding spills into a second one.
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn ids_are_the_references_verified_examples() {
        // deploy-viz-mlflow-store.md §3.4, recomputed against kedro-viz 12.5.
        assert_eq!(dataset_id("raw_data"), "7c58d8e6");
        assert_eq!(dataset_id("raw_data@pandas"), "7c58d8e6");
        let node = NodeBuilder::unresolved(
            "ds::featurize",
            ["clean_data", "params:factor"],
            "ds.features",
        )
        .name("featurize_node")
        .namespace("ds")
        .build()
        .unwrap();
        assert_eq!(task_id(&node), "2150db1b");
    }
}
