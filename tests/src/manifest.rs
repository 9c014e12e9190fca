//! `events/manifest.json`: every fixture in `events/` with the outcome it must
//! have (status, messages queued, requests quarantined).

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    pub file: String,
    /// The function (a [`intake::Provider`] name) the event is for.
    pub function: String,
    pub front_door: String,
    pub status: u16,
    pub queued: usize,
    pub quarantined: usize,
    pub description: String,
}

impl Fixture {
    pub fn path(&self) -> PathBuf {
        events_dir().join(&self.file)
    }

    pub fn event(&self) -> String {
        std::fs::read_to_string(self.path()).unwrap_or_else(|e| panic!("{}: {e}", self.file))
    }
}

/// The `events/` folder of the workspace.
pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("events")
}

pub fn load() -> Vec<Fixture> {
    let text = std::fs::read_to_string(events_dir().join("manifest.json")).expect("events/manifest.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("events/manifest.json: {e}"))
}

impl Fixture {
    /// The vendor whose function the event is for.
    pub fn provider(&self) -> intake::Provider {
        intake::Provider::from_name(&self.function)
            .unwrap_or_else(|| panic!("{}: no vendor is named {:?}", self.file, self.function))
    }
}
