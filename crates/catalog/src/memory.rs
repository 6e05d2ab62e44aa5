//! `MemoryDataset`: data kept in the process, with Kedro's copy modes.

use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;

use tandem_pipeline_core::Data;

use crate::dataset::{Dataset, DatasetDescription};
use crate::error::Error;

/// How a [`MemoryDataset`] copies values on save and on load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyMode {
    /// Share the value (an `Arc` clone): O(1) whatever its size.
    Assign,
    /// `Clone` the value; for arrow batches this shares the column buffers.
    Copy,
    /// [`DataValue::deep_clone`](tandem_pipeline_core::DataValue::deep_clone):
    /// nothing shared, arrow buffers included.
    DeepCopy,
}

impl CopyMode {
    /// The mode used when none is configured.
    ///
    /// Kedro copies by default to protect data from nodes that mutate their
    /// inputs in place; it only shares (`assign`) DataFrame-like tables where
    /// copying is costly. In tandem a node cannot mutate a shared value: it
    /// either borrows it immutably (`&T`) or receives its own copy (`T` by
    /// value is moved when unshared, cloned otherwise). So every type gets
    /// Kedro's table treatment, `assign`, and copying is opt-in.
    pub fn infer(_data: &Data) -> CopyMode {
        CopyMode::Assign
    }

    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            CopyMode::Assign => "assign",
            CopyMode::Copy => "copy",
            CopyMode::DeepCopy => "deepcopy",
        }
    }

    fn apply(self, data: &Data) -> Result<Data, Error> {
        let copied = match self {
            CopyMode::Assign => return Ok(data.clone()),
            CopyMode::Copy => data.try_clone(),
            CopyMode::DeepCopy => data.try_deep_clone(),
        };
        copied.ok_or(Error::NotCopyable {
            type_name: data.type_name(),
            mode: self.as_str(),
        })
    }
}

impl FromStr for CopyMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "assign" => Ok(CopyMode::Assign),
            "copy" => Ok(CopyMode::Copy),
            "deepcopy" => Ok(CopyMode::DeepCopy),
            other => Err(Error::InvalidCopyMode {
                mode: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for CopyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Data held in memory, copied on save and on load as its [`CopyMode`] says.
///
/// ```
/// use tandem_catalog::{CopyMode, Dataset, MemoryDataset};
/// use tandem_pipeline_core::Data;
///
/// let ds = MemoryDataset::new(Some(CopyMode::Copy));
/// assert_eq!(ds.load().unwrap_err().kind(), "no_data");
/// ds.save(Data::new(vec![1, 2, 3])).unwrap();
/// assert_eq!(ds.load().unwrap().downcast_ref::<Vec<i32>>().unwrap(), &[1, 2, 3]);
/// ds.release();
/// assert!(!ds.exists().unwrap());
/// ```
pub struct MemoryDataset {
    data: RwLock<Option<Data>>,
    copy_mode: Option<CopyMode>,
}

impl MemoryDataset {
    /// An empty dataset; `None` infers the mode from each value ([`CopyMode::infer`]).
    pub fn new(copy_mode: Option<CopyMode>) -> Self {
        MemoryDataset {
            data: RwLock::new(None),
            copy_mode,
        }
    }

    /// A dataset holding `data` already (Kedro's `MemoryDataset(data=...)`).
    pub fn with_data(data: Data, copy_mode: Option<CopyMode>) -> Self {
        MemoryDataset {
            data: RwLock::new(Some(data)),
            copy_mode,
        }
    }

    fn mode_for(&self, data: &Data) -> CopyMode {
        self.copy_mode.unwrap_or_else(|| CopyMode::infer(data))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Data>> {
        // A panic while holding the lock cannot leave `Option<Data>` half-written.
        self.data
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<Data>> {
        self.data
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for MemoryDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.read().as_ref().map(Data::type_name);
        f.debug_struct("MemoryDataset")
            .field("data", &held)
            .field("copy_mode", &self.copy_mode)
            .finish()
    }
}

impl Dataset for MemoryDataset {
    fn load(&self) -> Result<Data, Error> {
        let guard = self.read();
        let data = guard.as_ref().ok_or(Error::NoData)?;
        self.mode_for(data).apply(data)
    }

    fn save(&self, data: Data) -> Result<(), Error> {
        let copied = self.mode_for(&data).apply(&data)?;
        *self.write() = Some(copied);
        Ok(())
    }

    fn exists(&self) -> Result<bool, Error> {
        Ok(self.read().is_some())
    }

    fn release(&self) {
        *self.write() = None;
    }

    fn describe(&self) -> DatasetDescription {
        let mut details = serde_json::Map::new();
        if let Some(mode) = self.copy_mode {
            details.insert("copy_mode".to_owned(), mode.as_str().into());
        }
        if let Some(data) = self.read().as_ref() {
            details.insert("data".to_owned(), data.type_name().into());
        }
        DatasetDescription {
            type_name: "MemoryDataset".to_owned(),
            filepath: None,
            versioned: false,
            details,
        }
    }

    fn is_ephemeral(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn assign_shares_and_copy_modes_copy_on_save_and_load() {
        let value = Data::new(vec![1.0_f64; 4]);
        let assign = MemoryDataset::new(Some(CopyMode::Assign));
        assign.save(value.clone()).unwrap();
        assert!(assign.load().unwrap().ptr_eq(&value));

        for mode in [CopyMode::Copy, CopyMode::DeepCopy] {
            let ds = MemoryDataset::new(Some(mode));
            ds.save(value.clone()).unwrap();
            let a = ds.load().unwrap();
            let b = ds.load().unwrap();
            assert!(!a.ptr_eq(&value) && !a.ptr_eq(&b), "{mode}");
            assert_eq!(a.downcast_ref::<Vec<f64>>().unwrap(), &vec![1.0; 4]);
        }
    }

    #[test]
    fn default_mode_is_assign() {
        let value = Data::new(String::from("x"));
        let ds = MemoryDataset::new(None);
        ds.save(value.clone()).unwrap();
        assert!(ds.load().unwrap().ptr_eq(&value));
    }

    #[test]
    fn opaque_values_cannot_be_copied_but_can_be_assigned() {
        struct Handle;
        let ds = MemoryDataset::new(Some(CopyMode::DeepCopy));
        let err = ds.save(Data::opaque(Handle)).unwrap_err();
        assert_eq!(err.kind(), "not_copyable");
        MemoryDataset::new(None).save(Data::opaque(Handle)).unwrap();
    }

    #[test]
    fn invalid_modes_are_named() {
        let err = "bogus".parse::<CopyMode>().unwrap_err();
        assert_eq!(err.kind(), "invalid_copy_mode");
        assert!(err.to_string().contains("bogus"));
    }

    #[test]
    fn loading_before_saving_and_after_release_fails() {
        let ds = MemoryDataset::with_data(Data::new(1_u8), None);
        assert!(ds.exists().unwrap() && ds.is_ephemeral());
        ds.release();
        assert_eq!(ds.load().unwrap_err().kind(), "no_data");
    }

    #[test]
    fn shared_between_threads() {
        let ds = Arc::new(MemoryDataset::new(None));
        let writers: Vec<_> = (0..4)
            .map(|i| {
                let ds = Arc::clone(&ds);
                std::thread::spawn(move || ds.save(Data::new(i as u32)).unwrap())
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert!(*ds.load().unwrap().downcast_ref::<u32>().unwrap() < 4);
    }
}
