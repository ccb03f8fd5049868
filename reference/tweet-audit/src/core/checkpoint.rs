//! The one record the pipeline keeps in the durable store.

use serde::{Deserialize, Serialize};

use super::types::Summary;

/// The store key of the [`Checkpoint`].
pub const CHECKPOINT_KEY: &str = "tweet-audit/checkpoint";

/// Where a run stands, as JSON under [`CHECKPOINT_KEY`]: either
/// `{"progress": {...}}` or `{"done": {...}}` (well under 100 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Checkpoint {
    Progress(Progress),
    Done(Done),
}

/// A run under way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// Every tweet before this index (in archive order, retweets included)
    /// is decided and its row, if any, is in the output's first `lines`
    /// lines; the tweet at this index is not decided.
    pub next: u32,
    /// The output's line count at this point (the header included).
    pub lines: u32,
    /// Tweets before `next` decided DELETE and KEEP.
    pub deleted: u32,
    pub kept: u32,
    /// The pacing: the minute (`now / 60,000`) of the last request sent
    /// or about to be, and the requests and tokens sent in it so far (that
    /// one included). Saved before each request, so a fresh instance
    /// resumed in the same minute knows the minute's quota is partly spent.
    pub minute: u64,
    pub requests: u32,
    pub tokens: u64,
}

/// A run that returned its summary: `run` returns it again, appending
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    pub tweets: u32,
    pub retweets: u32,
    pub deleted: u32,
    pub kept: u32,
    /// The output's line count.
    pub lines: u32,
}

impl Done {
    pub fn summary(&self) -> Summary {
        Summary {
            tweets: self.tweets,
            retweets: self.retweets,
            deleted: self.deleted,
            kept: self.kept,
        }
    }
}

impl Checkpoint {
    pub fn to_bytes(self) -> Vec<u8> {
        serde_json::to_vec(&self).expect("a checkpoint serialises")
    }

    /// `None` for bytes that are not a checkpoint.
    pub fn from_bytes(bytes: &[u8]) -> Option<Checkpoint> {
        serde_json::from_slice(bytes).ok()
    }
}
