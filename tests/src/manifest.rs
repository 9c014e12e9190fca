//! `events/manifest.json`: every fixture in `events/` with the outcome it must
//! have (status, messages queued, requests quarantined).

use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Fixture {
    pub file: String,
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
    let entries: Vec<Value> = serde_json::from_str(&text).expect("manifest is a JSON array");
    entries
        .iter()
        .map(|e| Fixture {
            file: e["file"].as_str().unwrap_or_default().to_owned(),
            function: e["function"].as_str().unwrap_or_default().to_owned(),
            front_door: e["frontDoor"].as_str().unwrap_or_default().to_owned(),
            status: e["status"].as_u64().unwrap_or_default() as u16,
            queued: e["queued"].as_u64().unwrap_or_default() as usize,
            quarantined: e["quarantined"].as_u64().unwrap_or_default() as usize,
            description: e["description"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}
