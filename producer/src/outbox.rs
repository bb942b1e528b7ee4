//! Turning approvals into messages and publishing them with confirms.
//!
//! The outbox keeps one confirm-mode channel on the caller's connection and opens a
//! new one when the old one closed. The broker closes a channel that publishes to a
//! missing exchange, and the next poll must still be able to publish.

use chrono::{DateTime, Utc};
use dingk3::broker::headers::{PipelineHeaders, PropertyTooLong, message_properties};
use dingk3::broker::{BrokerSettings, OutgoingMessage, PublishError, Publisher, Topology};
use dingk3::envelope::Envelope;
use lapin::Connection;
use tracing::{debug, warn};

use crate::settings::APP_ID;

/// Publishes the producer's messages on one broker connection.
pub struct Outbox<'a> {
    connection: &'a Connection,
    settings: &'a BrokerSettings,
    topology: Topology,
    publisher: Option<Publisher>,
}

impl<'a> Outbox<'a> {
    /// Creates an outbox on `connection`; the channel opens with the first publish.
    pub fn new(connection: &'a Connection, settings: &'a BrokerSettings) -> Outbox<'a> {
        Outbox {
            connection,
            settings,
            topology: Topology::new(settings),
            publisher: None,
        }
    }

    /// Builds the message of one envelope: persistent JSON to the approvals exchange,
    /// `message_id` = process instance id, `app_id`, `timestamp` = `published_at`.
    pub fn message(
        &self,
        envelope: &Envelope,
        published_at: DateTime<Utc>,
    ) -> Result<OutgoingMessage, PropertyTooLong> {
        let properties = message_properties(
            &envelope.process_instance_id,
            APP_ID,
            published_at,
            PipelineHeaders::default().to_field_table(),
        )?;
        Ok(OutgoingMessage {
            exchange: self.topology.approvals_exchange(),
            routing_key: self.topology.routing_key().to_string(),
            payload: envelope.to_bytes(),
            properties,
        })
    }

    /// Publishes `messages` as one confirmed batch and returns one result per message.
    ///
    /// A channel that cannot be opened fails every message with
    /// [`PublishError::Channel`].
    pub async fn publish(&mut self, messages: &[OutgoingMessage]) -> Vec<Result<(), PublishError>> {
        if messages.is_empty() {
            return Vec::new();
        }
        let publisher = match self.publisher().await {
            Ok(publisher) => publisher,
            Err(error) => {
                warn!(%error, "opening a confirm channel failed");
                return vec![Err(PublishError::Channel(error)); messages.len()];
            }
        };
        publisher.publish_batch(messages).await.into_results()
    }

    /// Returns the confirm channel, opening a new one when there is none or the broker
    /// closed the previous one.
    async fn publisher(&mut self) -> Result<&Publisher, lapin::Error> {
        let status = self
            .publisher
            .as_ref()
            .map(|publisher| publisher.channel().status().clone());
        if status.as_ref().is_some_and(|status| status.reconnecting()) {
            // lapin is recovering the connection and will restore this channel with its
            // confirm mode; a new channel could not open before that anyway.
            return Err(lapin::Error::from(std::io::Error::other(
                "the broker connection is recovering",
            )));
        }
        if !status.is_some_and(|status| status.connected()) {
            if let Some(old) = self.publisher.take() {
                debug!("replacing a closed confirm channel");
                // The broker usually closed it already; a close error changes nothing.
                let _ = old.channel().close(200, "replaced".into()).await;
            }
            self.publisher = Some(Publisher::open(self.connection, self.settings).await?);
        }
        Ok(self
            .publisher
            .as_ref()
            .expect("the publisher was opened just above"))
    }
}

/// Returns the metric label of a publish failure.
pub fn failure_reason(error: &PublishError) -> &'static str {
    match error {
        PublishError::Nacked => "nacked",
        PublishError::Returned { .. } => "returned",
        PublishError::Timeout { .. } => "timeout",
        PublishError::Channel(_) => "channel",
    }
}
