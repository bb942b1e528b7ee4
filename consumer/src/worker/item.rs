//! One delivery on its way through a batch: the message, its single-use ack handle,
//! the pipeline headers and the ids that every log line of it carries.

use dingk3::broker::{AckHandle, PipelineHeaders, ReceivedMessage};

use crate::worker::shared::InFlightGuard;

/// Ids known about a message so far; each log line of the message carries them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ids {
    /// DingTalk process instance id, once the envelope is read.
    pub(crate) process_instance_id: Option<String>,

    /// Approval number (审批编号), once the envelope is read.
    pub(crate) business_id: Option<String>,

    /// K3Cloud bill number, once mapped.
    pub(crate) bill_no: Option<String>,
}

impl Ids {
    /// Returns the process instance id, or an empty string for logs.
    pub(crate) fn id(&self) -> &str {
        self.process_instance_id.as_deref().unwrap_or_default()
    }

    /// Returns the approval number, or an empty string for logs.
    pub(crate) fn business(&self) -> &str {
        self.business_id.as_deref().unwrap_or_default()
    }

    /// Returns the bill number, or an empty string for logs.
    pub(crate) fn bill(&self) -> &str {
        self.bill_no.as_deref().unwrap_or_default()
    }
}

/// A delivery being processed. It is consumed by exactly one settle call.
#[derive(Debug)]
pub(crate) struct Item {
    /// Body and properties.
    pub(crate) message: ReceivedMessage,

    /// The only way to ack or reject this delivery.
    pub(crate) ack: AckHandle,

    /// `x-dingk3-attempt` and friends, read once.
    pub(crate) headers: PipelineHeaders,

    /// Ids for logs.
    pub(crate) ids: Ids,

    /// Whether this consumer holds the ledger lease of the instance.
    pub(crate) claimed: bool,

    /// Keeps other tasks of this process away from the same instance until the item is
    /// settled.
    pub(crate) reservation: Option<InFlightGuard>,
}

impl Item {
    /// Wraps a delivery that was just received.
    pub(crate) fn new(message: ReceivedMessage, ack: AckHandle) -> Item {
        let headers = PipelineHeaders::from_properties(&message.properties);
        Item {
            message,
            ack,
            headers,
            ids: Ids::default(),
            claimed: false,
            reservation: None,
        }
    }

    /// Returns the AMQP `message_id`, if the publisher set one.
    pub(crate) fn message_id(&self) -> Option<&str> {
        self.message
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str())
    }
}
