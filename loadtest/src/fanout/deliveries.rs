//! What the subscribers received, joined with what the writers published: latency of every
//! delivery, and the frames missing, repeated or out of order.

use std::collections::BTreeMap;

use crate::driver::PublishTimes;
use crate::latency::Latencies;
use crate::subscribers::Tally;

/// Deliveries joined with publishes.
pub struct Deliveries {
    /// Distinct (subscriber, seq) pairs received after the subscription.
    pub delivered: u64,
    /// Frames of a (subscriber, seq) pair received more than once.
    pub duplicates: u64,
    /// Frames whose seq was not above every seq the subscriber had before.
    pub out_of_order: u64,
    /// `delivered / (first publish → last receipt)`.
    pub per_sec: f64,
    /// Publish acknowledged → frame read.
    pub latency: Latencies,
    /// Publish began → frame read.
    pub from_write_start: Latencies,
    /// Frames read before their publish was acknowledged (0 ms in `latency`).
    pub before_acknowledged: u64,
    /// Sockets the server closed, by close code.
    pub closed: BTreeMap<u16, u64>,
    /// Sockets that ended with a read error, by error.
    pub read_errors: BTreeMap<String, u64>,
}

/// Latency of every receipt against its event's publish, plus the counts. `published` holds
/// the publish times of each channel, `base_seqs[j]` the seq channel `j`'s first event
/// follows, and `first_publish_ns` the start of the publishing (ns since the run's epoch).
pub fn join(
    tallies: &[Tally],
    published: &[PublishTimes],
    base_seqs: &[i64],
    first_publish_ns: u64,
) -> Deliveries {
    let mut by_channel: Vec<Option<&PublishTimes>> = vec![None; base_seqs.len()];
    for p in published {
        by_channel[p.channel] = Some(p);
    }
    let mut out = Deliveries {
        delivered: 0,
        duplicates: 0,
        out_of_order: 0,
        per_sec: 0.0,
        latency: Latencies::default(),
        from_write_start: Latencies::default(),
        before_acknowledged: 0,
        closed: BTreeMap::new(),
        read_errors: BTreeMap::new(),
    };
    let mut last_receipt = first_publish_ns;
    for tally in tallies {
        out.out_of_order += tally.out_of_order;
        if let Some(code) = tally.close_code {
            *out.closed.entry(code).or_default() += 1;
        }
        if let (Some(error), Some(_)) = (&tally.error, tally.snapshot_seq) {
            *out.read_errors.entry(error.clone()).or_default() += 1;
        }
        let Some(snapshot_seq) = tally.snapshot_seq else {
            continue;
        };
        let base = base_seqs[tally.channel];
        let Some(times) = by_channel[tally.channel] else {
            continue;
        };
        let mut seqs: Vec<i64> = Vec::with_capacity(tally.receipts.len());
        for &(seq, at) in &tally.receipts {
            last_receipt = last_receipt.max(at);
            seqs.push(seq);
            let Some(n) = usize::try_from(seq - base - 1)
                .ok()
                .filter(|n| *n < times.acknowledged_ns.len())
            else {
                continue;
            };
            if seq <= snapshot_seq {
                continue;
            }
            let (began, acknowledged) = (times.began_ns[n], times.acknowledged_ns[n]);
            if at < acknowledged {
                out.before_acknowledged += 1;
            }
            out.latency
                .record_micros(at.saturating_sub(acknowledged) / 1_000);
            out.from_write_start
                .record_micros(at.saturating_sub(began) / 1_000);
        }
        let received = seqs.len() as u64;
        seqs.sort_unstable();
        seqs.dedup();
        out.duplicates += received - seqs.len() as u64;
        out.delivered += seqs.iter().filter(|s| **s > snapshot_seq).count() as u64;
    }
    let window = (last_receipt - first_publish_ns) as f64 / 1e9;
    out.per_sec = if window > 0.0 {
        out.delivered as f64 / window
    } else {
        0.0
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(channel: usize, receipts: Vec<(i64, u64)>) -> Tally {
        Tally {
            channel,
            snapshot_seq: Some(0),
            receipts,
            out_of_order: 0,
            close_code: None,
            error: None,
            socket: None,
        }
    }

    #[test]
    fn counts_repeats_and_measures_from_both_ends_of_the_publish() {
        let published = [PublishTimes {
            channel: 0,
            began_ns: vec![1_000_000, 2_000_000],
            acknowledged_ns: vec![1_500_000, 2_500_000],
        }];
        let tallies = [
            tally(0, vec![(1, 3_500_000), (2, 4_500_000)]),
            tally(0, vec![(1, 1_200_000), (1, 3_000_000)]),
        ];
        let d = join(&tallies, &published, &[0], 1_000_000);
        assert_eq!(
            (d.delivered, d.duplicates, d.before_acknowledged),
            (3, 1, 1)
        );
        let from_ack = d.latency.summary();
        assert_eq!(from_ack.count, 4);
        assert!((from_ack.max_ms - 2.0).abs() < 0.01, "{from_ack:?}");
        let from_start = d.from_write_start.summary();
        assert!((from_start.max_ms - 2.5).abs() < 0.01, "{from_start:?}");
    }
}
