//! nchan (the nginx pub/sub module) as a fan-out server, configured as in
//! `loadtest/nchan/nginx.conf.in`: subscribers open WebSockets on `/sub/{channel}`, and each
//! event is an HTTP POST to `/pub/{channel}` whose body nchan relays as it is, one text frame
//! per subscriber. The body is JSON carrying the event's seq in its channel and its send time,
//! padded to at least the size of a Smelt progress frame, so the subscribers check and time it
//! as they do Smelt's. Channels exist once subscribed to; their ids are new for every run.
//!
//! nginx's connections live in its worker processes: their resident memory is summed (the
//! master holds none).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context};
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use uuid::Uuid;

use super::{Afterwards, PreparedChannel, Processes, Server};
use crate::addresses;
use crate::args::FanoutArgs;
use crate::driver::{Publish, PublishTimes};
use crate::rss;
use crate::subscribers::Framing;

/// How long one publish or channel query may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Channel queries in flight when counting the stored messages.
const QUERY_CONCURRENCY: usize = 16;

/// An nginx with nchan.
pub struct NchanServer {
    address: SocketAddr,
    processes: Processes,
    client: reqwest::Client,
    message_bytes: usize,
    channel_ids: Vec<String>,
}

impl NchanServer {
    /// Checks that `--nchan-url` is a loopback `http://host:port` and finds nginx's workers:
    /// the children of `--server-pid`, or of the process listening on the port.
    pub async fn connect(args: &FanoutArgs) -> anyhow::Result<Self> {
        let url = args
            .nchan_url
            .as_deref()
            .context("--nchan-url is required with --target nchan")?;
        let url = reqwest::Url::parse(url).with_context(|| format!("invalid URL {url:?}"))?;
        ensure!(
            url.scheme() == "http",
            "--nchan-url must be http://host:port"
        );
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            bail!("--nchan-url must be http://host:port");
        };
        let address = addresses::loopback_server(&format!("{host}:{port}")).await?;
        let master = args
            .server
            .server_pid
            .or_else(|| rss::pid_listening_on(address.port()));
        // Without a master process (`master_process off`) the one process serves everything.
        let measured = match master.map(rss::children_of) {
            Some(workers) if !workers.is_empty() => workers,
            _ => master.into_iter().collect(),
        };
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            .build()?;
        Ok(NchanServer {
            address,
            processes: Processes {
                main: master,
                measured,
            },
            client,
            message_bytes: args.nchan_message_bytes,
            channel_ids: Vec::new(),
        })
    }

    /// The publisher location of channel `id`.
    fn publisher_url(&self, id: &str) -> String {
        format!("http://{}/pub/{id}", self.address)
    }
}

/// Messages nchan holds in a channel, from a `GET` on its publisher location `url` (0 when the
/// channel does not exist).
async fn stored_messages(client: reqwest::Client, url: String) -> anyhow::Result<i64> {
    let response = client.get(url).header(ACCEPT, "text/json").send().await?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(0);
    }
    let status = response.status();
    ensure!(status.is_success(), "channel query: HTTP {status}");
    Ok(response.json::<ChannelInfo>().await?.messages)
}

/// nchan's answer to a `GET` on the publisher location (`Accept: text/json`).
#[derive(Deserialize)]
struct ChannelInfo {
    /// Messages in the channel's buffer.
    messages: i64,
}

#[async_trait::async_trait]
impl Server for NchanServer {
    fn name(&self) -> &'static str {
        "nchan"
    }

    fn address(&self) -> SocketAddr {
        self.address
    }

    fn processes(&self) -> &Processes {
        &self.processes
    }

    fn framing(&self) -> Arc<dyn Framing> {
        Arc::new(NchanFraming)
    }

    async fn prepare(
        &mut self,
        count: usize,
        _duration_secs: u64,
    ) -> anyhow::Result<Vec<PreparedChannel>> {
        let run = Uuid::new_v4().simple().to_string();
        self.channel_ids = (0..count).map(|j| format!("{run}-{j}")).collect();
        Ok(self
            .channel_ids
            .iter()
            .map(|id| PreparedChannel {
                url: format!("ws://{}/sub/{id}", self.address),
                base_seq: 0,
                publisher: Box::new(NchanPublisher {
                    client: self.client.clone(),
                    url: self.publisher_url(id),
                    message_bytes: self.message_bytes,
                    seq: 0,
                }),
            })
            .collect())
    }

    async fn finish(&mut self, _published: &[PublishTimes]) -> anyhow::Result<Afterwards> {
        // Owned queries: the stream must not borrow from `self` across the trait's future.
        let queries: Vec<_> = self
            .channel_ids
            .iter()
            .map(|id| stored_messages(self.client.clone(), self.publisher_url(id)))
            .collect();
        let stored: Vec<i64> = futures::stream::iter(queries)
            .buffer_unordered(QUERY_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(Afterwards {
            stored: stored.iter().sum(),
            database_leg: None,
        })
    }
}

/// Publishes one channel's events by POST, each numbered and stamped.
struct NchanPublisher {
    client: reqwest::Client,
    url: String,
    message_bytes: usize,
    /// Seq of the last event nchan accepted.
    seq: i64,
}

#[async_trait::async_trait]
impl Publish for NchanPublisher {
    async fn publish(&mut self, began_ns: u64) -> anyhow::Result<()> {
        let seq = self.seq + 1;
        let response = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .body(message(seq, began_ns, self.message_bytes))
            .send()
            .await?;
        let status = response.status();
        // Read to the end, so that the connection goes back to the pool.
        response.bytes().await?;
        ensure!(status.is_success(), "publish: HTTP {status}");
        self.seq = seq;
        Ok(())
    }
}

/// The body of event `seq` sent at `sent_ns` (ns since the run's epoch): JSON padded with
/// spaces inside a string to `bytes` in all (when that is more than the fields need).
fn message(seq: i64, sent_ns: u64, bytes: usize) -> String {
    let head = format!(r#"{{"seq":{seq},"sent_ns":{sent_ns},"pad":""#);
    let tail = "\"}";
    let padding = bytes.saturating_sub(head.len() + tail.len());
    let mut body = String::with_capacity(head.len() + padding + tail.len());
    body.push_str(&head);
    body.extend(std::iter::repeat_n(' ', padding));
    body.push_str(tail);
    body
}

/// The fields of a message the subscribers read; the padding is skipped.
#[derive(Deserialize)]
struct MessageHead {
    seq: i64,
}

/// nchan's frames: the subscription is complete with the upgrade (nothing is buffered in a new
/// channel), and every text frame is one published body.
struct NchanFraming;

impl Framing for NchanFraming {
    fn sends_snapshot(&self) -> bool {
        false
    }

    fn snapshot_seq(&self, _text: &str) -> Result<i64, String> {
        Ok(0)
    }

    fn event_seq(&self, text: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<MessageHead>(text)
            .map(|head| Some(head.seq))
            .map_err(|_| "a frame is not a published message".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_padded_json_that_the_subscribers_read() {
        let body = message(7, 123_456_789, 400);
        assert_eq!(body.len(), 400);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["sent_ns"], 123_456_789);
        assert_eq!(NchanFraming.event_seq(&body), Ok(Some(7)));
        // Asked for fewer bytes than the fields need: the fields win.
        let short = message(7, 123_456_789, 8);
        assert_eq!(NchanFraming.event_seq(&short), Ok(Some(7)));
        assert!(NchanFraming.event_seq("hello").is_err());
    }
}
