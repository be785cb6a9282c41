//! `GET /v1/models` response types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelList {
    pub object: String,
    pub data: Vec<ModelObject>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelObject {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub owned_by: String,
    /// Sluice's own addition: what this id is (`policy` or `model`) and what it serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sluice: Option<serde_json::Value>,
}

impl ModelList {
    pub fn new(data: Vec<ModelObject>) -> Self {
        ModelList {
            object: "list".into(),
            data,
        }
    }
}
