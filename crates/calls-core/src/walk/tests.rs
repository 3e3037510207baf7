//! Unit tests of the walk's steps, and a property test of the whole walk
//! against an in-process model of the service (`shared/notes/keyset-walk.md`,
//! "The model"): random datasets with tie bursts, arrivals at any depth at
//! any moment, retention at the old end, short pages, answers computed at
//! any moment between a request and its absorption, concurrency 1..8 with
//! the splits the walk makes, and restarts from checkpoints.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng};

use super::*;
use crate::model::Meta;

const S: i64 = SECOND;

fn call(sec: i64, uuid: &str) -> Call {
    Call {
        call_uuid: uuid.to_string(),
        end_time: DateTime::from_timestamp_micros(sec * S),
        ..Call::default()
    }
}

fn page(calls: Vec<Call>, total: Option<u64>) -> Page {
    Page {
        meta: Meta {
            total_count: total,
            ..Meta::default()
        },
        objects: calls,
        ..Page::default()
    }
}

fn edge(sec: i64, incl: bool) -> Edge {
    Edge { us: sec * S, incl }
}

/// A walk over `[lo, hi]` seconds, one slice, no parallelism.
fn walk(lo: i64, hi: i64) -> Walk {
    Walk::new(vec![Cursor::new(edge(lo, true), edge(hi, true))], 1000, 16)
}

fn drain(w: &mut Walk) -> Vec<String> {
    std::iter::from_fn(|| w.pop())
        .map(|c| c.call_uuid)
        .collect()
}

#[test]
fn the_cursor_moves_below_the_oldest_second_with_its_offset() {
    let mut w = walk(0, 100);
    let r = w.next_request(false, 3).unwrap();
    assert_eq!(
        (r.lower, r.upper, r.offset),
        (edge(0, true), edge(100, true), 0)
    );
    let n = w
        .absorb(
            &r,
            page(vec![call(90, "a"), call(80, "b"), call(80, "c")], Some(10)),
        )
        .unwrap();
    assert_eq!(n, 3);
    let r = w.next_request(false, 3).unwrap();
    // Below second 81, skipping the two calls of second 80 already delivered.
    assert_eq!((r.upper, r.offset), (edge(81, false), 2));
    assert_eq!(drain(&mut w), ["a", "b", "c"]);
}

#[test]
fn a_tie_wider_than_a_page_walks_through_by_offset() {
    let mut w = walk(0, 100);
    let tie: Vec<Call> = (0..7).map(|i| call(50, &format!("t{i}"))).collect();
    let r = w.next_request(false, 3).unwrap();
    w.absorb(&r, page(tie[0..3].to_vec(), Some(8))).unwrap();
    let r = w.next_request(false, 3).unwrap();
    assert_eq!((r.upper, r.offset), (edge(51, false), 3));
    w.absorb(&r, page(tie[3..6].to_vec(), Some(8))).unwrap();
    let r = w.next_request(false, 3).unwrap();
    assert_eq!(
        (r.upper, r.offset),
        (edge(51, false), 6),
        "same cursor, offset on"
    );
    w.absorb(&r, page(vec![tie[6].clone(), call(40, "x")], Some(8)))
        .unwrap();
    assert!(
        w.next_request(false, 3).is_none(),
        "short and total_count agrees"
    );
    assert_eq!(drain(&mut w).len(), 8);
    assert!(w.finished());
}

#[test]
fn an_arrival_inside_the_tie_second_is_a_duplicate_not_a_miss() {
    let mut w = walk(0, 100);
    let r = w.next_request(false, 2).unwrap();
    w.absorb(&r, page(vec![call(50, "b"), call(50, "c")], Some(4)))
        .unwrap();
    // "a" arrived in second 50, sorting ahead: "c" is pushed into the next page.
    let r = w.next_request(false, 2).unwrap();
    assert_eq!(r.offset, 2);
    w.absorb(&r, page(vec![call(50, "c"), call(49, "d")], Some(5)))
        .unwrap();
    assert_eq!(w.stats.duplicates, 1);
    let r = w.next_request(false, 2).unwrap();
    assert_eq!((r.upper, r.offset), (edge(50, false), 1));
    w.absorb(&r, page(vec![call(10, "e")], Some(2))).unwrap();
    assert_eq!(drain(&mut w), ["b", "c", "d", "e"]);
}

#[test]
fn a_short_page_is_the_end_only_when_total_count_agrees() {
    // A service returning fewer rows than asked before the end.
    let mut w = walk(0, 100);
    let r = w.next_request(false, 20).unwrap();
    w.absorb(&r, page(vec![call(90, "a"), call(80, "b")], Some(4)))
        .unwrap();
    let r = w.next_request(false, 20).expect("total_count says more");
    w.absorb(&r, page(vec![call(70, "c"), call(60, "d")], Some(3)))
        .unwrap();
    assert!(w.next_request(false, 20).is_none());
    // Without total_count, a short page is not the end: an empty page is.
    let mut w = walk(0, 100);
    let r = w.next_request(false, 20).unwrap();
    w.absorb(&r, page(vec![call(90, "a")], None)).unwrap();
    let r = w
        .next_request(false, 20)
        .expect("no total_count: ask again");
    assert_eq!(r.upper, edge(91, false));
    w.absorb(&r, page(vec![], None)).unwrap();
    assert!(w.next_request(false, 20).is_none());
    assert_eq!(drain(&mut w), ["a"]);
    // A full page whose total_count says nothing is left ends the slice too.
    let mut w = walk(0, 100);
    let r = w.next_request(false, 2).unwrap();
    w.absorb(&r, page(vec![call(90, "a"), call(80, "b")], Some(2)))
        .unwrap();
    assert!(w.next_request(false, 2).is_none());
}

/// Answers `r` from `rows` (seconds, uuids; newest first) as the service
/// would: the rows inside its bounds, from its offset, with their count.
fn serve(rows: &[(i64, String)], r: &Request) -> Page {
    let inside: Vec<&(i64, String)> = rows
        .iter()
        .filter(|(sec, _)| r.lower.admits_from_below(sec * S) && r.upper.admits_from_above(sec * S))
        .collect();
    let calls = inside
        .iter()
        .skip(r.offset as usize)
        .take(r.limit as usize)
        .map(|(sec, u)| call(*sec, u))
        .collect();
    page(calls, Some(inside.len() as u64))
}

#[test]
fn the_estimate_of_what_is_left_follows_total_count_exactly_on_a_still_service() {
    // 57 calls over [0, 100], several in one second.
    let mut rows: Vec<(i64, String)> = (0..57)
        .map(|k| (99 - (k * 7) % 97, format!("c{k}")))
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut w = walk(0, 100);
    assert_eq!(w.remaining_estimate(), None, "nothing answered yet");
    let mut handed = 0u64;
    while let Some(r) = w.next_request(false, 6) {
        let p = serve(&rows, &r);
        w.absorb(&r, p).unwrap();
        assert_eq!(w.remaining_estimate(), Some(57 - handed));
        // Hand out part of what is buffered.
        if w.pop().is_some() {
            handed += 1;
        }
        assert_eq!(w.remaining_estimate(), Some(57 - handed));
    }
    handed += drain(&mut w).len() as u64;
    assert_eq!(handed, 57);
    assert_eq!(w.remaining_estimate(), Some(0));
}

#[test]
fn slices_not_answered_yet_are_estimated_at_the_density_of_those_answered() {
    // Two slices of 100 s each, one call every second in both.
    let rows: Vec<(i64, String)> = (0..200).rev().map(|s| (s, format!("c{s}"))).collect();
    let cursors = vec![
        Cursor::new(edge(100, true), edge(199, true)),
        Cursor::new(edge(0, true), edge(100, false)),
    ];
    let mut w = Walk::new(cursors, 1000, 16);
    let r = w.next_request(false, 20).unwrap();
    assert_eq!(r.lower, edge(100, true));
    let p = serve(&rows, &r);
    w.absorb(&r, p).unwrap();
    // 20 buffered, 80 left above second 100, and the other 100 s at the
    // same density: about 100 more.
    let e = w.remaining_estimate().unwrap();
    assert!((195..=205).contains(&e), "estimate {e}");
}

#[test]
fn the_cursor_never_rises_above_a_sub_second_pin() {
    let pin = Edge {
        us: 100 * S + 291_927,
        incl: true,
    };
    let mut w = Walk::new(vec![Cursor::new(edge(0, true), pin)], 100, 4);
    let r = w.next_request(false, 2).unwrap();
    w.absorb(&r, page(vec![call(100, "a"), call(100, "b")], Some(5)))
        .unwrap();
    let r = w.next_request(false, 2).unwrap();
    assert_eq!((r.upper, r.offset), (pin, 2));
}

#[test]
fn pages_out_of_order_or_bounds_are_refused() {
    let cases = [
        (vec![call(10, "a"), call(20, "b")], "not newest first"),
        (vec![call(101, "a")], "outside the bounds"),
        (vec![Call::default()], "no end_time"),
        (
            vec![call(5, "a"), call(4, "b"), call(3, "c"), call(2, "d")],
            "limit=3",
        ),
    ];
    for (calls, want) in cases {
        let mut w = walk(0, 100);
        let r = w.next_request(false, 3).unwrap();
        let e = w.absorb(&r, page(calls, Some(10))).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    // Below the lower bound (more than the second of leniency).
    let mut w = walk(10, 100);
    let r = w.next_request(false, 3).unwrap();
    let e = w.absorb(&r, page(vec![call(8, "a")], Some(1))).unwrap_err();
    assert!(e.to_string().contains("outside the bounds"), "{e}");
}

#[test]
fn a_service_ignoring_offset_inside_a_tie_is_an_error_after_a_few_pages() {
    let mut w = walk(0, 100);
    let tie: Vec<Call> = (0..5).map(|i| call(50, &format!("t{i}"))).collect();
    let mut requests = 0;
    let err = loop {
        let Some(r) = w.next_request(false, 2) else {
            panic!("ended without an error")
        };
        requests += 1;
        assert!(requests < 10, "not bounded");
        // Always the top of the query, whatever the offset.
        if let Err(e) = w.absorb(&r, page(tie[0..2].to_vec(), Some(1_000_000_000))) {
            break e;
        }
    };
    assert!(err.to_string().contains("no progress"), "{err}");
    // The first page, then pages of 2 calls seen again until more came again
    // than the 2 delivered before the query plus the slack.
    assert_eq!(requests, 1 + (2 + STALE_SLACK as usize + 1).div_ceil(2));
}

#[test]
fn a_request_in_flight_over_a_split_drops_the_calls_below_the_split() {
    let mut w = Walk::new(vec![Cursor::new(edge(0, true), edge(1000, true))], 1000, 8);
    let a = w.next_request(true, 3).unwrap();
    assert!(
        w.next_request(true, 3).is_none(),
        "no split before the density is known"
    );
    // Pages of 10 s: the running slice keeps PIECE_PAGES pages' worth.
    w.span = Some(10 * S);
    let b = w
        .next_request(true, 3)
        .expect("a free slot splits the running slice");
    let m = 1000 - 10 * PIECE_PAGES;
    assert_eq!(b.upper, edge(m, false));
    assert_eq!(b.lower, a.lower);
    // The first request was sent with the old lower bound: calls below the
    // split in its answer belong to the new slice.
    w.absorb(&a, page(vec![call(m + 60, "x"), call(m - 1, "y")], Some(2)))
        .unwrap();
    w.absorb(&b, page(vec![call(m - 1, "y")], Some(1))).unwrap();
    assert_eq!(drain(&mut w), ["x", "y"]);
    assert!(w.finished());
}

#[test]
fn once_the_density_is_known_a_split_leaves_a_few_pages_above_it() {
    assert_eq!(split_point(edge(0, true), edge(1000, true), None), None);
    // Pages of 2 s: the slice keeps PIECE_PAGES pages' worth.
    let m = split_point(edge(0, true), edge(1000, true), Some(2 * S)).unwrap();
    assert_eq!(m, (1000 - 2 * PIECE_PAGES) * S);
    // Never more than the newer half stays.
    let m = split_point(edge(0, true), edge(1000, true), Some(100 * S)).unwrap();
    assert_eq!(m, 500 * S);
    // Fewer than 4 pages' worth: not split; a tie page counts as a second.
    assert_eq!(split_point(edge(0, true), edge(7, true), Some(2 * S)), None);
    assert_eq!(split_point(edge(0, true), edge(3, true), Some(0)), None);
    assert_eq!(
        split_point(edge(0, true), edge(4, true), Some(0)),
        Some(2 * S)
    );
    // At a whole second strictly inside.
    assert_eq!(
        split_point(
            Edge {
                us: 10 * S + 1,
                incl: true
            },
            Edge {
                us: 15 * S,
                incl: false
            },
            Some(0)
        ),
        Some(12 * S)
    );
}

#[test]
fn a_checkpoint_cursor_covers_exactly_what_was_handed_out() {
    let mut w = walk(0, 100);
    let r = w.next_request(false, 3).unwrap();
    w.absorb(
        &r,
        page(vec![call(90, "a"), call(80, "b"), call(80, "c")], Some(9)),
    )
    .unwrap();
    assert_eq!(w.cursors(), [Cursor::new(edge(0, true), edge(100, true))]);
    assert_eq!(w.pop().unwrap().call_uuid, "a");
    assert_eq!(
        w.cursors(),
        [Cursor {
            lower: edge(0, true),
            upper: edge(91, false),
            tie: Some((90 * S, vec!["a".into()])),
        }]
    );
    assert_eq!(w.pop().unwrap().call_uuid, "b");
    let c = w.cursors().remove(0);
    assert_eq!(c.upper, edge(81, false));
    assert_eq!(c.tie, Some((80 * S, vec!["b".into()])));
    // A walk resumed from it asks below 81 past one call, and skips "b".
    let mut resumed = Walk::new(vec![c], 100, 4);
    let r = resumed.next_request(false, 3).unwrap();
    assert_eq!((r.upper, r.offset), (edge(81, false), 1));
    resumed
        .absorb(&r, page(vec![call(80, "b"), call(80, "c")], Some(2)))
        .unwrap();
    assert_eq!(drain(&mut resumed), ["c"]);
}

#[test]
fn forged_cursors_are_refused() {
    let ok = Cursor::new(edge(0, true), edge(10, true));
    assert!(ok.check().is_ok());
    let bad = [
        Cursor::new(edge(10, true), edge(0, true)),
        Cursor::new(
            Edge {
                us: i64::MIN,
                incl: true,
            },
            edge(0, true),
        ),
        Cursor {
            tie: Some((5 * S + 1, vec!["a".into()])),
            ..ok.clone()
        },
        Cursor {
            tie: Some((5 * S, vec![String::new()])),
            ..ok.clone()
        },
    ];
    for c in bad {
        assert!(c.check().is_err(), "{c:?}");
    }
}

#[test]
fn a_slow_consumer_holds_the_workers_back() {
    let mut w = Walk::new(
        vec![Cursor::new(edge(0, true), edge(100_000, true))],
        60,
        16,
    );
    w.span = Some(100 * S);
    let mut sent = Vec::new();
    while let Some(r) = w.next_request(true, 20) {
        sent.push(r);
        assert!(sent.len() < 10, "the lookahead bounds what is asked for");
    }
    assert!(sent.len() >= 2, "parallel while within the lookahead");
    // Answer everything with full pages: the buffers fill, nothing more goes out.
    for (k, r) in sent.iter().enumerate() {
        let top = r.upper.us / S - 1;
        let calls = (0..20)
            .map(|i| call(top - i, &format!("{k}-{i}")))
            .collect();
        w.absorb(r, page(calls, Some(1000))).unwrap();
    }
    let mut more = 0;
    while w.next_request(true, 20).is_some() {
        more += 1;
        assert!(more < 3);
    }
    // The first slice may always go on: the consumer is waiting on it.
    assert!(more <= 1);
}

/// A walk over `slices` (seconds, newest first) whose pages span 10 s, each
/// slice sent its first request; the requests, in the slices' order.
fn running(slices: &[(i64, i64)], lookahead: u64) -> (Walk, Vec<Request>) {
    let cursors = slices
        .iter()
        .map(|&(lo, hi)| Cursor::new(edge(lo, true), edge(hi, false)))
        .collect();
    let mut w = Walk::new(cursors, lookahead, 16);
    let sent = (0..slices.len())
        .map(|_| w.next_request(true, 20).expect("each slice sends"))
        .collect();
    w.span = Some(10 * S);
    (w, sent)
}

#[test]
fn a_free_worker_splits_the_slice_nearest_the_head_with_two_pieces_left() {
    // The head has 3 pieces' worth left, the slice behind it 30: the head
    // keeps a piece and hands the rest on, right behind it.
    let piece = 10 * PIECE_PAGES;
    let (mut w, sent) = running(&[(20_000, 20_000 + 3 * piece), (0, 20_000)], 10_000);
    let r = w.next_request(true, 20).expect("a split");
    assert_eq!(r.upper, edge(20_000 + 2 * piece, false));
    assert_eq!(r.lower, sent[0].lower);
    assert_eq!(
        w.slices[1].id, r.slice,
        "the new slice comes right after the head"
    );
    // Then the next nearest with two pieces left: the new slice itself.
    let r = w.next_request(true, 20).expect("a split");
    assert_eq!(r.upper, edge(20_000 + piece, false));
    // None left near the head: the slice behind it.
    let r = w.next_request(true, 20).expect("a split");
    assert_eq!(r.upper, edge(20_000 - piece, false));
    assert_eq!(r.lower, sent[1].lower);
}

/// A head in flight with three pieces left, and the slice behind it answered
/// once: ready to go on, far from the head. Returns the walk, its first two
/// requests and the piece (in seconds).
fn wide_head_and_ready_slice_behind() -> (Walk, Vec<Request>, i64) {
    let piece = 10 * PIECE_PAGES;
    let (mut w, sent) = running(&[(20_000, 20_000 + 3 * piece), (0, 20_000)], 10_000);
    let calls = (0..20)
        .map(|i| call(19_999 - i, &format!("b{i}")))
        .collect();
    w.absorb(&sent[1], page(calls, Some(2_000))).unwrap();
    w.span = Some(10 * S);
    (w, sent, piece)
}

#[test]
fn a_split_near_the_head_goes_before_a_slice_ready_further_back() {
    let (mut w, _, piece) = wide_head_and_ready_slice_behind();
    let r = w.next_request(true, 20).expect("a split");
    assert_eq!(
        (r.lower, r.upper),
        (edge(20_000, true), edge(20_000 + 2 * piece, false)),
        "the head's older part, not the slice behind"
    );
}

#[test]
fn with_no_room_for_a_split_a_slice_ready_further_back_is_sent() {
    // As above, but the walk holds as many slices as it may: the wide head
    // cannot be split, so the ready slice behind it goes on (a worker would
    // idle otherwise).
    let (mut w, sent, _) = wide_head_and_ready_slice_behind();
    w.max_slices = w.slices.len();
    let r = w.next_request(true, 20).expect("the slice behind goes on");
    assert_eq!(r.lower, sent[1].lower);
    // The keyset cursor: below the oldest second delivered plus one, past
    // the one call of that second already delivered.
    assert_eq!((r.upper, r.offset), (edge(19_981, false), 1));
}

#[test]
fn without_two_pieces_anywhere_the_largest_is_split_even_the_head() {
    // The head has less than two pieces left, the slice behind it is walked
    // and holds a page: the head is halved.
    let piece = 10 * PIECE_PAGES;
    let (mut w, sent) = running(&[(10_000, 10_000 + piece + 100), (0, 10_000)], 10_000);
    let calls = (0..20).map(|i| call(9_999 - i, &format!("b{i}"))).collect();
    w.absorb(&sent[1], page(calls, Some(20))).unwrap();
    assert_eq!(w.slices[1].phase, Phase::Done);
    let r = w.next_request(true, 20).expect("the head is split");
    assert_eq!(r.lower, sent[0].lower);
    assert_eq!(r.upper, edge(10_000 + (piece + 100) / 2, false));
}

#[test]
fn on_a_clock_every_worker_stays_busy_within_the_lookahead() {
    // 20,000 calls over 89 days in three windows, 20 ms a request, a fast
    // consumer: 8 workers stay busy to the end, with few extra requests and
    // never more buffered than the lookahead.
    let (rows, cursors) = export_rows(20_000, 89, 7);
    let m = clocked(&rows, cursors, 8, 20_000, None);
    assert_eq!(m.calls, 20_000);
    let pages = m.calls.div_ceil(20);
    assert!(m.busy >= 7.0, "{m:?}");
    assert!(
        m.requests * 100 <= pages * 104,
        "{m:?} against {pages} pages"
    );
    assert!(m.peak_buffered <= 20 * LOOKAHEAD_PAGES * 9, "{m:?}");
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/// The service: every record existing now, newest first (ties by uuid,
/// descending), answering `(total_count, rows[offset .. offset + limit])`.
struct Model {
    rows: Vec<(i64, String)>,
    short_pages: bool,
    omit_total: bool,
}

impl Model {
    fn insert(&mut self, sec: i64, uuid: String) {
        let key = (sec * S, uuid);
        let at = self
            .rows
            .partition_point(|r| (r.0, r.1.as_str()) > (key.0, key.1.as_str()));
        self.rows.insert(at, key);
    }

    fn answer(&self, r: &Request, rng: &mut TestRng) -> Page {
        let inside = |us: i64| {
            (if r.lower.incl {
                us >= r.lower.us
            } else {
                us > r.lower.us
            }) && (if r.upper.incl {
                us <= r.upper.us
            } else {
                us < r.upper.us
            })
        };
        let matching: Vec<&(i64, String)> = self.rows.iter().filter(|x| inside(x.0)).collect();
        let total = matching.len();
        let start = usize::try_from(r.offset).unwrap_or(usize::MAX).min(total);
        let mut take = (total - start).min(r.limit as usize);
        if self.short_pages && take > 1 && rng.random_bool(0.3) {
            take = rng.random_range(1..take);
        }
        let calls = matching[start..start + take]
            .iter()
            .map(|(us, u)| Call {
                call_uuid: u.clone(),
                end_time: DateTime::from_timestamp_micros(*us),
                ..Call::default()
            })
            .collect();
        page(calls, (!self.omit_total).then_some(total as u64))
    }
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    calls: usize,
    seconds: i64,
    bursts: Vec<(i64, usize)>,
    arrivals: usize,
    concurrency: usize,
    limit: u32,
    lookahead: u64,
    windows: usize,
    short_pages: bool,
    omit_total: bool,
    restarts: bool,
    retention: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        0usize..300,
        1i64..5_000,
        proptest::collection::vec((0i64..5_000, 1usize..120), 0..3),
        0usize..120,
        1usize..=8,
        1u32..=20,
        20u64..400,
        1usize..=3,
        any::<[bool; 4]>(),
    )
        .prop_map(
            |(
                seed,
                calls,
                seconds,
                bursts,
                arrivals,
                concurrency,
                limit,
                lookahead,
                windows,
                f,
            )| {
                Case {
                    seed,
                    calls,
                    seconds,
                    bursts: bursts
                        .into_iter()
                        .map(|(at, n)| (at % seconds, n))
                        .collect(),
                    arrivals,
                    concurrency,
                    limit,
                    lookahead,
                    windows,
                    short_pages: f[0],
                    omit_total: f[1],
                    restarts: f[2],
                    retention: f[3],
                }
            },
        )
}

/// Runs one export of `c` against the model; returns a description of the
/// first broken promise.
fn run(c: &Case) -> std::result::Result<(), String> {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&c.seed.to_le_bytes());
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
    let mut next_uuid = 0u64;
    let mut uuid = |rng: &mut TestRng| {
        next_uuid += 1;
        format!("{:016x}-{next_uuid:06}", rng.next_u64())
    };
    let mut model = Model {
        rows: Vec::new(),
        short_pages: c.short_pages,
        omit_total: c.omit_total,
    };
    // Records from 10 s before the range to its end.
    for _ in 0..c.calls {
        let sec = rng.random_range(-10..=c.seconds);
        let u = uuid(&mut rng);
        model.insert(sec, u);
    }
    for &(at, n) in &c.bursts {
        for _ in 0..n {
            let u = uuid(&mut rng);
            model.insert(at, u);
        }
    }
    // The range [0 s, seconds + 0.25 s], cut into `windows` half-open slices.
    let lower = edge(0, true);
    let upper = Edge {
        us: c.seconds * S + 250_000,
        incl: true,
    };
    let mut cursors = Vec::new();
    let step = upper.us / c.windows as i64;
    let mut hi = upper;
    for k in (0..c.windows).rev() {
        let lo = if k == 0 {
            lower
        } else {
            Edge {
                us: step * k as i64,
                incl: true,
            }
        };
        if lo.us < hi.us {
            cursors.push(Cursor::new(lo, hi));
            hi = Edge {
                us: lo.us,
                incl: false,
            };
        }
    }
    let in_range = |us: i64| us >= lower.us && us <= upper.us;
    let at_start: HashSet<String> = model
        .rows
        .iter()
        .filter(|r| in_range(r.0))
        .map(|r| r.1.clone())
        .collect();
    let mut ever: HashSet<String> = model.rows.iter().map(|r| r.1.clone()).collect();
    let parallel = c.concurrency > 1;
    let max_slices = 4 * c.concurrency + c.windows;
    let mut w = Walk::new(cursors, c.lookahead, max_slices);
    let mut outstanding: Vec<(Request, Option<Page>)> = Vec::new();
    let mut delivered: Vec<(i64, String)> = Vec::new();
    let mut arrivals_left = c.arrivals;
    let mut per_second: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
    let mut retention_edge = -10i64;
    let mut restarts = 0;
    let bound = 200 * (c.calls + c.arrivals + c.bursts.iter().map(|b| b.1).sum::<usize>()) + 2_000;
    for step in 0.. {
        if step > bound {
            return Err(format!("no end after {step} steps"));
        }
        if w.finished() {
            if !outstanding.is_empty() {
                return Err("finished with requests in flight".into());
            }
            break;
        }
        match rng.random_range(0..100) {
            // Send what may be sent.
            0..=24 => {
                let slots = if parallel { c.concurrency } else { 1 };
                if outstanding.len() < slots
                    && let Some(r) = w.next_request(parallel, c.limit)
                {
                    if r.upper.us - r.lower.us > upper.us - lower.us {
                        return Err(format!("a request wider than the range: {r:?}"));
                    }
                    outstanding.push((r, None));
                }
            }
            // The service computes an answer (any time after the request).
            25..=44 => {
                let open: Vec<usize> = (0..outstanding.len())
                    .filter(|&i| outstanding[i].1.is_none())
                    .collect();
                if !open.is_empty() {
                    let i = open[rng.random_range(0..open.len())];
                    let p = model.answer(&outstanding[i].0, &mut rng);
                    outstanding[i].1 = Some(p);
                }
            }
            // The walk takes an answer in, in any order.
            45..=64 => {
                let ready: Vec<usize> = (0..outstanding.len())
                    .filter(|&i| outstanding[i].1.is_some())
                    .collect();
                if !ready.is_empty() {
                    let i = ready[rng.random_range(0..ready.len())];
                    let (r, p) = outstanding.swap_remove(i);
                    let p = p.ok_or("no page")?;
                    w.absorb(&r, p)
                        .map_err(|e| format!("{e} (request {r:?})"))?;
                }
            }
            // A record arrives: at the top, deep inside, or in a tie second.
            65..=79 => {
                if arrivals_left > 0 {
                    arrivals_left -= 1;
                    let sec = match rng.random_range(0..3) {
                        0 => c.seconds - rng.random_range(0..3.min(c.seconds + 1)),
                        1 if !c.bursts.is_empty() => {
                            c.bursts[rng.random_range(0..c.bursts.len())].0
                        }
                        _ => rng.random_range(0..=c.seconds),
                    };
                    // Without a total_count that grows with them (none, or
                    // retention taking calls away as fast), the walk cannot
                    // tell a page of calls pushed down by arrivals from a
                    // service ignoring `offset` (it fails after
                    // STALE_SLACK such calls): no more arrivals per second
                    // than that, then.
                    let n = per_second.entry(sec).or_insert(0u32);
                    if !(c.omit_total || c.retention) || u64::from(*n) < STALE_SLACK {
                        *n += 1;
                        let u = uuid(&mut rng);
                        ever.insert(u.clone());
                        model.insert(sec, u);
                    }
                }
            }
            // The consumer takes some calls.
            80..=93 => {
                for _ in 0..rng.random_range(1..40) {
                    match w.pop() {
                        Some(call) => {
                            let us = call.end_time.map_or(-1, |t| t.timestamp_micros());
                            delivered.push((us, call.call_uuid));
                        }
                        None => break,
                    }
                }
            }
            // Records drop out at the old end.
            94..=96 => {
                if c.retention {
                    retention_edge += rng.random_range(0..3);
                    let cut = retention_edge * S;
                    model.rows.retain(|r| r.0 >= cut);
                }
            }
            // Stop and resume from a checkpoint: requests in flight and calls
            // not yet handed out are lost.
            _ => {
                if c.restarts && restarts < 3 && rng.random_bool(0.2) {
                    restarts += 1;
                    let cursors = w.cursors();
                    for cur in &cursors {
                        cur.check().map_err(|e| format!("checkpoint: {e}"))?;
                    }
                    w = Walk::new(cursors, c.lookahead, max_slices);
                    outstanding.clear();
                }
            }
        }
        if outstanding.is_empty() && !w.has_ready() && !w.finished() {
            // Nothing in flight, nothing to hand out: the walk must be able to send.
            if let Some(r) = w.next_request(parallel, c.limit) {
                outstanding.push((r, None));
            } else {
                return Err("stuck: nothing in flight and nothing to send".into());
            }
        }
    }
    // Exactly once, newest first.
    let mut seen = HashSet::new();
    for (_, u) in &delivered {
        if !seen.insert(u.clone()) {
            return Err(format!("{u} delivered twice"));
        }
        if !ever.contains(u) {
            return Err(format!("{u} never existed"));
        }
    }
    if let Some(p) = delivered
        .windows(2)
        .find(|p| second_of(p[0].0) < second_of(p[1].0))
    {
        return Err(format!("out of order: {p:?}"));
    }
    let still: HashSet<&String> = model.rows.iter().map(|r| &r.1).collect();
    for u in &at_start {
        if still.contains(u) && !seen.contains(u) {
            return Err(format!("{u} existed from the start and was missed"));
        }
    }
    for (us, u) in &delivered {
        if !in_range(*us) {
            return Err(format!("{u} at {us} is outside the range"));
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })]

    /// Every record that existed at the start (and still exists) is delivered
    /// exactly once, whatever arrives, whatever the concurrency and splits.
    #[test]
    fn the_walk_is_exact_against_the_model(c in case()) {
        if let Err(e) = run(&c) {
            return Err(TestCaseError::fail(format!("{e}\n{c:?}")));
        }
    }
}

/// The model's own promise: a walk that skipped pages would be caught.
#[test]
fn the_model_catches_a_walk_that_loses_calls() {
    let mut model = Model {
        rows: Vec::new(),
        short_pages: false,
        omit_total: false,
    };
    for i in 0..50 {
        model.insert(i, format!("u{i:03}"));
    }
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7u8; 32]);
    let mut w = walk(0, 100);
    let mut got = 0;
    while let Some(mut r) = w.next_request(false, 20) {
        r.offset += 1; // a broken walk: skips one position per page
        w.absorb(&r, model.answer(&r, &mut rng)).unwrap();
        got += drain(&mut w).len();
    }
    assert!(got < 50, "the broken walk lost calls: {got}");
}

// ---------------------------------------------------------------------------
// Scheduling on a clock
// ---------------------------------------------------------------------------

/// A still service of `rows` (microseconds, uuid; newest first) answering
/// through binary search (the export benches hold tens of thousands).
fn serve_sorted(rows: &[(i64, String)], r: &Request) -> Page {
    let top = rows.partition_point(|x| !r.upper.admits_from_above(x.0));
    let bottom = rows.partition_point(|x| {
        if r.lower.incl {
            x.0 >= r.lower.us
        } else {
            x.0 > r.lower.us
        }
    });
    let inside = &rows[top..bottom.max(top)];
    let calls = inside
        .iter()
        .skip(usize::try_from(r.offset).unwrap_or(usize::MAX))
        .take(r.limit as usize)
        .map(|(us, u)| Call {
            call_uuid: u.clone(),
            end_time: DateTime::from_timestamp_micros(*us),
            ..Call::default()
        })
        .collect();
    page(calls, Some(inside.len() as u64))
}

/// What [`clocked`] measured.
#[derive(Debug)]
struct Clocked {
    requests: u64,
    calls: u64,
    slices: u64,
    /// Virtual seconds from the first send to the last call handed out.
    secs: f64,
    /// Requests in flight, averaged over the time.
    busy: f64,
    /// The most calls buffered at once.
    peak_buffered: u64,
}

/// An export of `rows` over `cursors` on a virtual clock, as the pager runs
/// it: `workers` requests at once, each answered `latency_us` after it is
/// sent, every ready call handed out at once (a fast consumer). With
/// `budget = Some((max, per_us))`, a client-side limiter like the
/// library's: a request holds its slot while in flight and for `per` after
/// its answer; two sends at least `per / (4 × max)` apart.
fn clocked(
    rows: &[(i64, String)],
    cursors: Vec<Cursor>,
    workers: usize,
    latency_us: i64,
    budget: Option<(usize, i64)>,
) -> Clocked {
    let lookahead = 20 * LOOKAHEAD_PAGES * (workers as u64 + 1);
    let mut w = Walk::new(cursors, lookahead, 4 * workers + 3);
    let mut now = 0i64;
    // Requests waiting for the budget, and those sent: (answer time, request).
    let mut queued: VecDeque<Request> = VecDeque::new();
    let mut flying: Vec<(i64, Request)> = Vec::new();
    // When each sent request frees its budget slot.
    let mut held: VecDeque<i64> = VecDeque::new();
    let mut last_send = i64::MIN / 2;
    let (mut requests, mut calls, mut busy_us, mut peak) = (0u64, 0u64, 0i128, 0u64);
    let mut first_send = None;
    loop {
        // Hand out everything ready, then ask for what may go.
        while w.pop().is_some() {
            calls += 1;
        }
        while queued.len() + flying.len() < workers {
            match w.next_request(workers > 1, 20) {
                Some(r) => queued.push_back(r),
                None => break,
            }
        }
        let buffered: u64 = w.slices.iter().map(|s| s.buffer.len() as u64).sum();
        peak = peak.max(buffered);
        // Send what the budget allows now.
        let mut next_free = i64::MAX;
        while !queued.is_empty() {
            let gap = budget.map_or(0, |(max, per)| per / (4 * max as i64));
            let full = budget.is_some_and(|(max, _)| {
                held.retain(|&t| t > now);
                held.len() + flying.len() >= max
            });
            if full {
                next_free = held.iter().copied().min().unwrap_or(i64::MAX);
                break;
            }
            if now < last_send + gap {
                next_free = last_send + gap;
                break;
            }
            let r = queued.pop_front().expect("front");
            last_send = now;
            first_send.get_or_insert(now);
            requests += 1;
            flying.push((now + latency_us, r));
        }
        if w.finished() && flying.is_empty() && queued.is_empty() {
            break;
        }
        let next_answer = flying.iter().map(|f| f.0).min().unwrap_or(i64::MAX);
        let next = next_answer.min(next_free);
        assert!(next < i64::MAX, "stuck at {now}");
        busy_us += i128::from(next - now) * flying.len() as i128;
        now = next;
        // Answers due now, in the order sent.
        while let Some(k) = flying.iter().position(|f| f.0 <= now) {
            let (_, r) = flying.remove(k);
            if let Some((_, per)) = budget {
                held.push_back(now + per);
            }
            let p = serve_sorted(rows, &r);
            w.absorb(&r, p).expect("absorb");
        }
    }
    let span = (now - first_send.unwrap_or(0)).max(1);
    Clocked {
        requests,
        calls,
        slices: w.stats.slices,
        secs: span as f64 / 1e6,
        busy: busy_us as f64 / span as f64,
        peak_buffered: peak,
    }
}

/// `n` calls spread evenly at random over `days`, newest first, and the
/// three windows of at most 30 days the pager plans for them.
fn export_rows(n: usize, days: i64, seed: u64) -> (Vec<(i64, String)>, Vec<Cursor>) {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &s);
    let end = 2_000_000_000i64;
    let start = end - days * 86_400;
    let mut rows: Vec<(i64, String)> = (0..n)
        .map(|k| (rng.random_range(start..end) * S, format!("c{k:07}")))
        .collect();
    rows.sort_by(|a, b| b.cmp(a));
    let mut cursors = Vec::new();
    let mut hi = Edge {
        us: end * S,
        incl: false,
    };
    while hi.us > start * S {
        let lo = (hi.us - 30 * 86_400 * S).max(start * S);
        cursors.push(Cursor::new(Edge { us: lo, incl: true }, hi));
        hi = Edge {
            us: lo,
            incl: false,
        };
    }
    (rows, cursors)
}

#[test]
#[ignore = "a measurement: cargo test --release -p calls-core --lib walk::tests::clocked_rates -- --ignored --nocapture"]
fn clocked_rates() {
    let (rows, cursors) = export_rows(65_921, 89, 1);
    for workers in [1usize, 8, 16] {
        let m = clocked(&rows, cursors.clone(), workers, 20_000, None);
        println!(
            "no limit, {workers} workers: {} slices, {} requests ({:.3}× ⌈N/20⌉) in {:.1} s: {:.1}/s, {:.2} in flight on average, peak {} buffered",
            m.slices,
            m.requests,
            m.requests as f64 / m.calls.div_ceil(20) as f64,
            m.secs,
            m.requests as f64 / m.secs,
            m.busy,
            m.peak_buffered
        );
    }
    // The bench's 30-day row: one window of about 10,300 calls.
    let (rows30, cursors30) = export_rows(10_319, 30, 2);
    let m = clocked(&rows30, cursors30, 8, 20_000, None);
    let bound = m.calls.div_ceil(20) as f64 * 0.020 / 8.0;
    println!(
        "30 days, {} calls, 8 workers: {} requests in {:.2} s: {:.3}× ⌈N/20⌉ × latency / 8",
        m.calls,
        m.requests,
        m.secs,
        m.secs / bound
    );
    // A budget of 300 per 5 s (the service's own limit, not modelled here):
    // N requests need 5 × (⌈N/300⌉ − 1) s at least.
    let m = clocked(&rows, cursors, 8, 20_000, Some((300, 5_000_000)));
    println!(
        "budget 300 per 5 s, 8 workers: {} requests in {:.1} s (at least {} s): {:.1}% of 60 × s + 300, {:.2} in flight on average",
        m.requests,
        m.secs,
        5 * (m.requests.div_ceil(300) - 1),
        100.0 * m.requests as f64 / (60.0 * m.secs + 300.0),
        m.busy
    );
}
