//! The order in which a worker reads the queue's lanes: weighted round robin by stride
//! scheduling (Waldspurger and Weihl, "Stride Scheduling: Deterministic Proportional-Share
//! Resource Management", MIT/LCS/TM-528, 1995). Each lane has a pass; a claim from a lane
//! advances its pass by its stride (1 / weight), and the lane with the lowest pass is read
//! first. While every lane has work, each gets claims in proportion to its weight, so the fast
//! lane is never starved by the normal one and bulk still progresses; a lane without work
//! passes its turn to the next and banks nothing for later (its pass is brought up to the
//! lane that was served), so a lane that was idle for an hour does not then take every claim.

use std::sync::Mutex;

use smelt_core::domain::Lane;

/// Lane order for a worker's claims; shared by its loops.
#[derive(Debug)]
pub struct LaneScheduler {
    /// Stride of each lane, in [`Lane::ALL`] order: the weights' least common multiple over
    /// the lane's weight, so that strides are whole numbers and shares come out exact.
    strides: [u64; 3],
    /// Pass of each lane, in [`Lane::ALL`] order.
    passes: Mutex<[u64; 3]>,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn index(lane: Lane) -> usize {
    Lane::ALL
        .iter()
        .position(|l| *l == lane)
        .expect("every lane is in Lane::ALL")
}

impl LaneScheduler {
    /// A scheduler giving the fast, normal and bulk lanes claims in proportion to `weights`
    /// (each at least 1).
    pub fn new(weights: [u32; 3]) -> Self {
        let weights = weights.map(|w| u64::from(w.max(1)));
        let lcm = weights.iter().fold(1, |l, w| l / gcd(l, *w) * w);
        LaneScheduler {
            strides: weights.map(|w| lcm / w),
            passes: Mutex::new([0; 3]),
        }
    }

    /// The lanes in the order the next claim reads them: lowest pass first, ties in priority
    /// order (fast, normal, bulk).
    pub fn order(&self) -> [Lane; 3] {
        let passes = *self.passes.lock().expect("lane passes lock");
        let mut order = [Lane::Fast, Lane::Normal, Lane::Bulk];
        // A stable sort: equal passes stay in priority order.
        order.sort_by_key(|l| passes[index(*l)]);
        order
    }

    /// Records the outcome of a claim that read the lanes in `order`: `claimed` is the lane
    /// the job came from (`None`: every lane was empty). The lanes read before it had no work.
    pub fn record(&self, order: &[Lane], claimed: Option<Lane>) {
        let mut passes = self.passes.lock().expect("lane passes lock");
        match claimed {
            Some(lane) => {
                let served = passes[index(lane)];
                for skipped in order.iter().take_while(|l| **l != lane) {
                    let p = &mut passes[index(*skipped)];
                    *p = (*p).max(served);
                }
                passes[index(lane)] += self.strides[index(lane)];
            }
            None => {
                let top = passes.iter().copied().max().unwrap_or(0);
                *passes = [top; 3];
            }
        }
        // Only differences matter; keep the numbers small.
        let low = passes.iter().copied().min().unwrap_or(0);
        for p in passes.iter_mut() {
            *p -= low;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claims `n` jobs while the lanes in `busy` have work; returns how many each lane served.
    fn claim(scheduler: &LaneScheduler, busy: &[Lane], n: usize) -> [usize; 3] {
        let mut served = [0; 3];
        for _ in 0..n {
            let order = scheduler.order();
            let lane = order.iter().copied().find(|l| busy.contains(l));
            scheduler.record(&order, lane);
            if let Some(lane) = lane {
                served[index(lane)] += 1;
            }
        }
        served
    }

    #[test]
    fn while_every_lane_has_work_each_gets_claims_in_proportion_to_its_weight() {
        let scheduler = LaneScheduler::new([6, 3, 1]);
        let served = claim(&scheduler, Lane::ALL, 1000);
        assert_eq!(served, [600, 300, 100]);
    }

    #[test]
    fn bulk_still_progresses_while_fast_work_keeps_arriving() {
        let scheduler = LaneScheduler::new([6, 3, 1]);
        let served = claim(&scheduler, &[Lane::Fast, Lane::Bulk], 70);
        assert_eq!(served, [60, 0, 10]);
    }

    #[test]
    fn after_a_normal_claim_with_the_fast_lane_empty_a_fast_arrival_goes_first() {
        let scheduler = LaneScheduler::new([6, 3, 1]);
        claim(&scheduler, &[Lane::Normal], 1);
        assert_eq!(scheduler.order()[0], Lane::Fast);
        assert_eq!(claim(&scheduler, &[Lane::Fast, Lane::Normal], 1), [1, 0, 0]);
    }

    #[test]
    fn a_lane_idle_for_long_banks_no_claims_for_later() {
        let scheduler = LaneScheduler::new([6, 3, 1]);
        claim(&scheduler, &[Lane::Normal], 500);
        // Bulk work arrives with normal work still waiting: bulk gets its share, not a burst.
        let served = claim(&scheduler, &[Lane::Normal, Lane::Bulk], 40);
        assert!(served[index(Lane::Bulk)] <= 11, "{served:?}");
        assert!(served[index(Lane::Bulk)] >= 9, "{served:?}");
    }

    #[test]
    fn when_every_lane_is_empty_the_next_arrival_is_read_in_priority_order() {
        let scheduler = LaneScheduler::new([6, 3, 1]);
        claim(&scheduler, &[Lane::Bulk], 3);
        claim(&scheduler, &[], 1);
        assert_eq!(scheduler.order(), [Lane::Fast, Lane::Normal, Lane::Bulk]);
    }
}
