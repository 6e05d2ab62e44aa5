//! File descriptors: every connection is one, so the server raises the
//! process's soft open-files limit to its hard limit at start (most
//! systems ship a soft limit of 1,024, far below the hard one) and keeps
//! its connection cap below whatever limit it ends up with.

/// Descriptors kept out of the connection cap for everything else the
/// process opens (the listener, the runtime's epoll and wakers, stdio,
/// files a model reads).
const RESERVE: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the
/// soft limit now in force (`None`: unlimited or unknown). A refusal is
/// logged, not fatal: the server still runs within the old limit.
#[cfg(unix)]
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some() && limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                tracing::debug!(
                    from = ?limit.current,
                    to = ?limit.maximum,
                    "raised the open-files limit"
                );
                return limit.maximum;
            }
            Err(error) => tracing::warn!(
                "cannot raise the open-files limit from {:?} to {:?}: {error}",
                limit.current,
                limit.maximum
            ),
        }
    }
    limit.current
}

/// Without Unix rlimits there is nothing to raise or to know.
#[cfg(not(unix))]
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    None
}

/// `wanted` connections, or fewer when the open-files limit cannot hold
/// them beside [`RESERVE`] other descriptors (at least one).
pub(crate) fn connection_cap(wanted: usize, open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return wanted.max(1);
    };
    let room = usize::try_from(limit.saturating_sub(RESERVE)).unwrap_or(usize::MAX);
    if room < wanted {
        tracing::warn!(
            "at most {room} connections (asked for {wanted}): the open-files limit is {limit}"
        );
    }
    wanted.min(room).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_other_descriptors() {
        assert_eq!(connection_cap(4096, Some(1024)), 960);
        assert_eq!(connection_cap(100, Some(1024)), 100);
        assert_eq!(connection_cap(4096, None), 4096);
        assert_eq!(connection_cap(10, Some(3)), 1);
        assert_eq!(connection_cap(0, Some(1024)), 1);
    }
}
