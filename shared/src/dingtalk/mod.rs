//! The DingTalk (钉钉) approval client: tokens, listing instance ids, instance details,
//! write-back comments, pacing and error classification.
//!
//! Both API generations are supported, chosen by `dingtalk.api`: the legacy
//! `oapi.dingtalk.com` (`/gettoken`, `topapi/…`; what QEasy-style deployments of this
//! scenario call) and `api.dingtalk.com` (`/v1.0/…`). A [`DingTalkClient`] serves one
//! app; its clones share one token cache and one rate limiter.
//!
//! ```no_run
//! # async fn run(settings: dingk3::dingtalk::DingTalkSettings) -> Result<(), dingk3::dingtalk::DingTalkError> {
//! use dingk3::dingtalk::DingTalkClient;
//!
//! let client = DingTalkClient::new(settings)?;
//! let end = chrono::Utc::now();
//! let start = end - chrono::Days::new(30);
//! let listing = client
//!     .list_instance_ids("PROC-EXPENSE", start, end, |progress| {
//!         tracing::debug!(pages = progress.pages, "listing");
//!     })
//!     .await?;
//! for id in &listing.ids {
//!     let instance = client.get_instance(id).await?;
//!     if instance.is_approved() {
//!         client.add_comment(id, "已生成付款单", None).await?;
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod classify;
mod client;
mod comment;
mod config;
mod detail;
mod endpoint;
mod error;
mod list;
pub mod metrics;
mod rate_limit;
mod token;
mod transport;
mod window;

pub use client::DingTalkClient;
pub use comment::MAX_COMMENT_CHARS;
pub use config::{
    ApiFlavor, DingTalkSettings, LIST_ID_CAP, PREMIUM_LOOKBACK_DAYS, RawDingTalkConfig,
    RetrySettings, STANDARD_LOOKBACK_DAYS, TOKEN_LIFETIME_SECONDS,
};
pub use error::{ConfigurationReason, DingTalkError};
pub use list::{InstanceIdListing, ListProgress, PAGE_SIZE};
pub use window::{MAX_SLICE_DAYS, Slice, earliest_allowed_start, slice_window};
