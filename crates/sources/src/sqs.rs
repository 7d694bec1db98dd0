//! SQS mode: the bucket's notifications arrive on a queue, and a poll receives them instead of
//! listing the bucket. A message is deleted only after everything it names is committed; while
//! its objects are read, a heartbeat keeps it invisible to other consumers; one that keeps
//! failing is given up on after `max_receives` deliveries (see `Poller::settle`).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, MessageSystemAttributeName,
};
use chrono::{DateTime, Utc};
use tracing::{debug, warn};

use crate::SourceError;
use crate::config::{QueueSettings, Source};
use crate::notification::{Notice, ObjectRef, parse};

/// Messages taken in one poll, at most.
const MAX_MESSAGES: usize = 100;
/// SQS takes at most this many entries per batch request.
const BATCH: usize = 10;

#[derive(Debug)]
pub struct Queue {
    client: Client,
    pub url: String,
    visibility: Duration,
    wait: Duration,
    pub max_receives: u32,
}

/// What a message asks for.
#[derive(Debug, Clone)]
pub enum Verdict {
    Objects(Vec<ObjectRef>),
    Ignore(String),
    Bad(String),
}

#[derive(Debug)]
pub struct Received {
    pub id: String,
    receipt: String,
    /// Deliveries so far, this one included.
    pub receives: u32,
    /// When the message was sent: when its objects appeared, as far as the lag goes.
    pub sent: DateTime<Utc>,
    pub body: String,
    pub verdict: Verdict,
    /// The keys of this source it names, as queued for the ingest.
    pub keys: Vec<String>,
    /// Keys it names that could not even be looked up (no size known), and why.
    pub unreachable: Vec<(String, String)>,
}

/// The messages of one poll; while it lives, a heartbeat extends their invisibility.
#[derive(Debug)]
pub struct Batch {
    pub messages: Vec<Received>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Batch {
    /// Stops extending the messages' invisibility (before they are deleted or released).
    pub fn stop_heartbeat(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

fn queue_error(url: &str, what: &str, e: impl std::error::Error) -> SourceError {
    SourceError::Queue {
        url: url.to_string(),
        reason: format!("{what} failed: {}", DisplayErrorContext(e)),
    }
}

impl Queue {
    pub async fn connect(settings: &QueueSettings, connection: &trailscope_s3::Connection) -> Self {
        let config = connection
            .sdk_config(settings.endpoint.as_deref(), settings.region.as_deref())
            .await;
        Self {
            client: Client::new(&config),
            url: settings.url.clone(),
            visibility: settings.visibility,
            wait: settings.wait,
            max_receives: settings.max_receives,
        }
    }

    /// Receives what is waiting (long-polling for the first message), up to [`MAX_MESSAGES`].
    pub async fn receive(&self, source: &Source) -> Result<Batch, SourceError> {
        let mut messages = Vec::new();
        while messages.len() < MAX_MESSAGES {
            let wait = if messages.is_empty() { self.wait } else { Duration::ZERO };
            let answer = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(BATCH as i32)
                .wait_time_seconds(wait.as_secs() as i32)
                .visibility_timeout(self.visibility.as_secs() as i32)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .send()
                .await
                .map_err(|e| queue_error(&self.url, "ReceiveMessage", e))?;
            let got = answer.messages();
            if got.is_empty() {
                break;
            }
            for m in got {
                let attribute = |name: MessageSystemAttributeName| {
                    m.attributes()
                        .and_then(|a| a.get(&name))
                        .and_then(|v| v.parse::<i64>().ok())
                };
                let body = m.body().unwrap_or_default().to_string();
                let verdict = match parse(&body) {
                    Ok(Notice::Objects(o)) => Verdict::Objects(o),
                    Ok(Notice::Ignore(why)) => Verdict::Ignore(why),
                    Err(why) => Verdict::Bad(why),
                };
                messages.push(Received {
                    id: m.message_id().unwrap_or_default().to_string(),
                    receipt: m.receipt_handle().unwrap_or_default().to_string(),
                    receives: attribute(MessageSystemAttributeName::ApproximateReceiveCount).unwrap_or(1) as u32,
                    sent: attribute(MessageSystemAttributeName::SentTimestamp)
                        .and_then(DateTime::from_timestamp_millis)
                        .unwrap_or_else(Utc::now),
                    body,
                    verdict,
                    keys: Vec::new(),
                    unreachable: Vec::new(),
                });
            }
        }
        debug!(source = %source.name, messages = messages.len(), "received");
        let heartbeat = (!messages.is_empty()).then(|| self.heartbeat(&messages));
        Ok(Batch { messages, heartbeat })
    }

    /// Extends the messages' invisibility every half timeout, so a large object being read
    /// is not handed to another consumer meanwhile.
    fn heartbeat(&self, messages: &[Received]) -> tokio::task::JoinHandle<()> {
        let client = self.client.clone();
        let url = self.url.clone();
        let visibility = self.visibility;
        let receipts: Arc<Vec<String>> = Arc::new(messages.iter().map(|m| m.receipt.clone()).collect());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(visibility / 2).await;
                for (n, chunk) in receipts.chunks(BATCH).enumerate() {
                    let entries = chunk
                        .iter()
                        .enumerate()
                        .filter_map(|(i, r)| {
                            ChangeMessageVisibilityBatchRequestEntry::builder()
                                .id(format!("{n}-{i}"))
                                .receipt_handle(r)
                                .visibility_timeout(visibility.as_secs() as i32)
                                .build()
                                .ok()
                        })
                        .collect();
                    match client
                        .change_message_visibility_batch()
                        .queue_url(&url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                    {
                        Ok(answer) if !answer.failed().is_empty() => {
                            warn!(queue = %url, failed = answer.failed().len(), "cannot extend some messages' invisibility: another consumer may receive them too (their objects are then found committed)")
                        }
                        Ok(_) => {}
                        Err(e) => {
                            warn!(queue = %url, error = %DisplayErrorContext(e), "cannot extend the messages' invisibility")
                        }
                    }
                }
            }
        })
    }

    /// Deletes messages that are done with. A failed delete only means the message comes
    /// again, and its objects are then found committed.
    pub async fn delete(&self, done: &[&Received]) {
        for chunk in done.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt)
                        .build()
                        .ok()
                })
                .collect();
            match self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(answer) if !answer.failed().is_empty() => {
                    warn!(queue = %self.url, failed = answer.failed().len(), "some messages could not be deleted; they will come again")
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(queue = %self.url, error = %DisplayErrorContext(e), "cannot delete messages; they will come again")
                }
            }
        }
    }

    /// Makes messages that failed visible again after a short pause, instead of a whole
    /// visibility timeout.
    pub async fn retry_soon(&self, again: &[&Received]) {
        for m in again {
            let pause = Duration::from_secs(5 * u64::from(m.receives)).min(self.visibility);
            if let Err(e) = self
                .client
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(&m.receipt)
                .visibility_timeout(pause.as_secs() as i32)
                .send()
                .await
            {
                debug!(queue = %self.url, error = %DisplayErrorContext(e), "cannot shorten a message's invisibility");
            }
        }
    }
}
