//! The catalog's S3 tests' view of the process's moto server
//! (tandem-test-support's): the server, and credentials for it as a
//! project's credentials.yml would give them.

use tandem_catalog::Credentials;
pub use tandem_test_support::moto::server as moto;

/// The secret key in [`credentials`] (moto accepts any), for tests that
/// check it never shows up in messages.
pub const SECRET: &str = "tandem-secret-key";

/// Credentials for [`moto`] as a credentials.yml entry would give them,
/// with Kedro's (fsspec's) names and every setting explicit, so the S3
/// client never looks for credentials in the environment or a metadata
/// service.
///
/// # Panics
///
/// When the server cannot be started.
pub fn credentials() -> Credentials {
    Credentials::new(
        [
            ("key".to_owned(), "tandem-key-id".into()),
            ("secret".to_owned(), SECRET.into()),
            ("region_name".to_owned(), "us-east-1".into()),
            (
                "client_kwargs".to_owned(),
                serde_json::json!({"endpoint_url": moto().endpoint}),
            ),
        ]
        .into(),
    )
}
