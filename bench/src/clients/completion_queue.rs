//! The switchboard completion-queue client (issue 14): NOT BUILT YET.
//!
//! switchboard's `CompletionQueue` API is being written on another branch
//! and is not in this tree. Until it is merged, [`completion_queue_client`]
//! returns [`Skip`]`("not built yet")`: every table lists the client with
//! that instead of figures, and the target "≥ 1.5× tonic through the
//! completion queue on one thread" stays "not measured", never met. No
//! figure here is faked.

use super::{Client, Result, Skip};

/// What the tables say in this client's rows until it is built.
pub const NOT_BUILT: &str = "not built yet";

/// The completion-queue client, connected to `url`. Not built yet; see the
/// module docs and the comment inside for what it must do.
pub fn completion_queue_client(url: &str) -> Result<Client> {
    // FILL IN after the `CompletionQueue` merge (issue 14), replacing the
    // `Err` below. Return a `Client` named `SWITCHBOARD_CQ`, on one default
    // `Channel::builder(url).build()?`, with the `UNARY` descriptor of
    // `switchboard.rs` and `request()` as every other client:
    //
    // - `throughput` (the scenario the issue is about): keep
    //   `load.in_flight` (64) unary calls in flight from ONE thread, the
    //   calling one, with no runtime and no helper threads of the bench's:
    //   1. build the `CompletionQueue`, and a `Vec` of `load.in_flight`
    //      slots (calls made so far, start `Instant` of the current call);
    //   2. `let start = Mark::now();` (after setup, so the CPU time and
    //      context-switch columns count only the calls);
    //   3. start one call per slot with `cq.unary(&channel, &UNARY,
    //      &options, request(), tag)`, the tag being the slot's index;
    //   4. loop on `cq.next(deadline)` (deadline e.g. now + 30 s; a timeout
    //      is an error): for each completion, fail on an error result, push
    //      the call's latency into its slot's list, and if that slot has
    //      made fewer than `load.calls_each` calls, start its next call with
    //      the same tag; stop when every slot's calls have completed;
    //   5. return `batch(start, per_slot_latencies)` (one `Ok(Vec)` per
    //      slot).
    // - `unary`: the same with one call in flight (`cq.unary`, then
    //   `cq.next`), passing each latency to `each`.
    // - `multi`: `throughput`'s loop over `multi_connection_channel(url, n)`
    //   (from `switchboard.rs`), one channel per `n`, kept (see
    //   `MultiChannels` there).
    // - `server_stream`, `pending`: through the queue if it has them, else
    //   `Err(Skip("not applicable: ...").into())`, shown in the row.
    //
    // The targets (`targets.rs`, `cq_rate`) then judge it against tonic on
    // every server by themselves; nothing else needs changing.
    let _ = url;
    Err(Skip(NOT_BUILT).into())
}
