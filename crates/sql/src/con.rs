//! `credentials.con`: the SQLAlchemy-style URL an entry connects with.
//!
//! Accepted: `postgresql://`, `postgres://` and `postgresql+<driver>://`
//! (psycopg, psycopg2...: the driver part only tells Python which module
//! to load, so it is dropped), and `sqlite:///relative.db` (relative to the
//! project root, never leaving it) or `sqlite:////absolute.db`. The URL is
//! parsed when the entry is built (no I/O) and never appears in an error or
//! in `Debug`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tandem_catalog::Credentials;

use crate::error::Error;

/// Where an entry's data lives.
#[derive(Clone)]
pub(crate) enum Connection {
    /// A PostgreSQL server.
    Postgres(Box<postgres::Config>),
    /// A SQLite database file.
    Sqlite(PathBuf),
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl Connection {
    /// The entry's connection, from `credentials.con`.
    pub(crate) fn from_credentials(
        credentials: Option<&Credentials>,
        project_root: &Path,
    ) -> Result<Connection, Error> {
        let con = credentials
            .and_then(|c| c.get("con"))
            .ok_or_else(|| Error::Connection {
                message: "'con' argument cannot be empty: give the SQLAlchemy connection \
                          string as 'con' in the entry's credentials (credentials.yml)"
                    .to_owned(),
            })?;
        let con = con
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| Error::Connection {
                message: "credentials 'con' must be a non-empty connection string".to_owned(),
            })?;
        Connection::parse(con.trim(), project_root)
    }

    fn parse(url: &str, project_root: &Path) -> Result<Connection, Error> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| Error::Connection {
            message: "credentials 'con' is not a URL (expected postgresql://... or sqlite:///...)"
                .to_owned(),
        })?;
        let dialect = scheme.split_once('+').map_or(scheme, |(d, _)| d);
        match dialect.to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" => {
                let config = postgres::Config::from_str(&format!("postgresql://{rest}"))
                    // The driver's message may quote the URL; ours never does.
                    .map_err(|_| Error::Connection {
                        message: "credentials 'con' is not a valid PostgreSQL URL \
                                  (postgresql://user:password@host:port/database)"
                            .to_owned(),
                    })?;
                Ok(Connection::Postgres(Box::new(config)))
            }
            "sqlite" => sqlite_path(rest, project_root).map(Connection::Sqlite),
            other => Err(Error::Connection {
                message: format!(
                    "credentials 'con' uses the '{other}' dialect; tandem's SQL datasets support \
                     postgresql:// and sqlite:///"
                ),
            }),
        }
    }

    /// A description without user name or password, for `tandem catalog`.
    pub(crate) fn display(&self) -> String {
        match self {
            Connection::Postgres(config) => {
                let host = config
                    .get_hosts()
                    .first()
                    .map(|h| match h {
                        postgres::config::Host::Tcp(name) => name.clone(),
                        postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .unwrap_or_else(|| "localhost".to_owned());
                let port = config.get_ports().first().copied().unwrap_or(5432);
                let db = config.get_dbname().unwrap_or("");
                format!("postgresql://{host}:{port}/{db}")
            }
            Connection::Sqlite(path) => format!("sqlite:///{}", path.display()),
        }
    }
}

/// `sqlite:///<path>`: after the third slash, a relative path (inside the
/// project root) or, with a fourth, an absolute one.
fn sqlite_path(rest: &str, project_root: &Path) -> Result<PathBuf, Error> {
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    let Some(path) = path.strip_prefix('/') else {
        return Err(Error::Connection {
            message: "a SQLite URL has no host: write sqlite:///relative.db or \
                      sqlite:////absolute/path.db"
                .to_owned(),
        });
    };
    if path.is_empty() || path == ":memory:" {
        return Err(Error::Connection {
            message: "an in-memory SQLite database lives only as long as one connection; give \
                      the database a file (sqlite:///data.db)"
                .to_owned(),
        });
    }
    if path.starts_with('/') {
        return Ok(PathBuf::from(path));
    }
    tandem_io::paths::join_inside(project_root, path).map_err(|e| Error::Connection {
        message: format!("SQLite database path: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(con: &str) -> Credentials {
        Credentials::new([("con".to_owned(), serde_json::json!(con))].into())
    }

    #[test]
    fn parses_postgres_urls_with_any_driver_and_hides_the_password() {
        for url in [
            "postgresql://u:s3cret@127.0.0.1:5433/db",
            "postgresql+psycopg://u:s3cret@127.0.0.1:5433/db",
            "postgresql+psycopg2://u:s3cret@127.0.0.1:5433/db",
            "postgres://u:s3cret@127.0.0.1:5433/db",
        ] {
            let con = Connection::from_credentials(Some(&creds(url)), Path::new("/p")).unwrap();
            let shown = format!("{con:?} {}", con.display());
            assert!(
                !shown.contains("s3cret") && !shown.contains("u:"),
                "{shown}"
            );
            assert!(shown.contains("127.0.0.1:5433/db"), "{shown}");
        }
    }

    #[test]
    fn sqlite_paths_are_relative_to_the_project_or_absolute() {
        let root = Path::new("/proj");
        let rel = Connection::from_credentials(Some(&creds("sqlite:///data/x.db")), root).unwrap();
        assert!(matches!(rel, Connection::Sqlite(p) if p == Path::new("/proj/data/x.db")));
        let abs = Connection::from_credentials(Some(&creds("sqlite:////tmp/x.db")), root).unwrap();
        assert!(matches!(abs, Connection::Sqlite(p) if p == Path::new("/tmp/x.db")));
        for bad in [
            "sqlite:///../x.db",
            "sqlite://",
            "sqlite:///:memory:",
            "mysql://h/db",
        ] {
            let err = Connection::from_credentials(Some(&creds(bad)), root).unwrap_err();
            assert_eq!(err.kind(), "sql_connection", "{bad}");
        }
    }

    #[test]
    fn missing_con_is_explained_and_bad_urls_are_not_echoed() {
        let err = Connection::from_credentials(None, Path::new(".")).unwrap_err();
        assert!(err.to_string().contains("'con'"), "{err}");
        let err = Connection::from_credentials(
            Some(&creds("postgresql://u:s3cret@host:notaport/db")),
            Path::new("."),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
