//! How the queries an audit makes ahead are shared between the audit's worker and the page's
//! model workers, which run the target and its references meanwhile: a cost estimate, in
//! model runs over one record, of what each thread has to do, and the parts that even it out.

use super::{QueryAhead, QueryPartRange};

/// What one perturbed copy of a record costs to make and ask, against one model run over it
/// (the noise is drawn as well): 1.5–1.7 on the SUPPORT2 MLP in the page's wasm (6.2–6.9 µs
/// a copy, 4.1 µs a run; 2026-12-05).
const PART_COST: f64 = 1.6;
/// What a kind made whole costs per record against one model run: the encoded queries derive
/// every record's encoding by MD5 and a Mersenne twister first, 4.5 runs' worth on SUPPORT2.
const WHOLE_COST: f64 = 4.5;

/// Shares the parts of `ahead` out between `threads` model workers, which also run
/// `model_runs` (records × models in all, split evenly between them), and the audit's worker,
/// which makes everything not given away: each model worker gets parts until its estimated
/// work matches what the audit's worker is left with. One list of part ranges per model
/// worker, taken from the end of each kind's range.
pub fn share_query_parts(
    ahead: &[QueryAhead],
    model_runs: usize,
    threads: usize,
) -> Vec<Vec<QueryPartRange>> {
    let mut shares = vec![Vec::new(); threads];
    if threads == 0 {
        return shares;
    }
    let part_cost = |q: &QueryAhead| q.records as f64 * PART_COST;
    let ours: f64 = ahead
        .iter()
        .map(|q| match q.parts {
            Some(parts) => parts as f64 * part_cost(q),
            None => q.records as f64 * WHOLE_COST,
        })
        .sum();
    let per_worker = model_runs as f64 / threads as f64;
    // Each model worker takes `x` so that per_worker + x = ours - threads * x.
    let give = ((ours - per_worker) / (threads as f64 + 1.0)).max(0.0);
    let mut left: Vec<(&QueryAhead, usize)> = ahead
        .iter()
        .filter_map(|q| q.parts.map(|parts| (q, parts)))
        .collect();
    for share in &mut shares {
        let mut budget = give;
        for (query, end) in &mut left {
            let cost = part_cost(query);
            // Parts while the budget covers at least half of the next one; one part at least
            // stays with the audit's worker, which reports the kind's progress.
            let mut take = 0;
            while *end - take > 1 && budget >= cost / 2.0 {
                take += 1;
                budget -= cost;
            }
            if take > 0 {
                share.push(QueryPartRange {
                    kind: query.kind.to_string(),
                    set: query.set,
                    start: *end - take,
                    end: *end,
                });
                *end -= take;
            }
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ahead(kind: &'static str, set: usize, records: usize, parts: Option<usize>) -> QueryAhead {
        QueryAhead {
            kind,
            set,
            records,
            parts,
        }
    }

    #[test]
    fn a_model_worker_takes_parts_until_both_threads_carry_about_the_same() {
        // The demo: 17 models over 9,105 records; 20 copies of 8,000 and 1,105 records, and
        // the encoded queries made whole. The model worker's 154,785 and the audit worker's
        // 332,332 even out at about 243,500 each: seven copies of the audit records.
        let queries = [
            ahead("label-only", 0, 8000, Some(20)),
            ahead("label-only", 1, 1105, Some(20)),
            ahead("encoded", 0, 8000, None),
            ahead("encoded", 1, 1105, None),
        ];
        let shares = share_query_parts(&queries, 17 * 9105, 1);
        assert_eq!(
            shares,
            vec![vec![QueryPartRange {
                kind: "label-only".into(),
                set: 0,
                start: 13,
                end: 20,
            }]]
        );
    }

    #[test]
    fn nothing_is_given_to_workers_already_busier_than_the_audits_worker() {
        let queries = [ahead("label-only", 0, 100, Some(20))];
        assert_eq!(
            share_query_parts(&queries, 1_000_000, 2),
            vec![vec![], vec![]]
        );
        assert!(share_query_parts(&queries, 0, 0).is_empty());
    }

    #[test]
    fn the_audits_worker_keeps_a_part_of_every_kind() {
        let queries = [ahead("label-only", 0, 100, Some(3))];
        let shares = share_query_parts(&queries, 0, 4);
        let given: usize = shares.iter().flatten().map(|p| p.end - p.start).sum();
        assert_eq!(given, 2);
    }
}
