// SET clauses shared by the stored functions (./claim.ts, ./complete.ts, ./available-unit.ts).
//
// Their plans must not depend on statistics. A spec created and filled since the last ANALYZE
// looks empty to the planner, which then sorts all its units on every claim instead of reading
// the claim index in order; an attempt table that grew since the last ANALYZE looks small, so
// completions hash-join a sequential scan of it. Each of these statements has one good plan
// (index probes, the claim index in order), and a function's SET clause pins the planner to it
// however stale the statistics are, without touching any other query of the session.
//
// With the plan shape pinned, a generic plan is as good as a custom one and is made once per
// session instead of on every call. jit = off: the penalty the planner adds to a disabled plan
// (a sort it cannot avoid) would push the cost past jit_above_cost and compile every call.

/** Pins a function's statements to index plans, generic and without JIT. */
export const PINNED = `
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
  SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off
  SET plan_cache_mode = force_generic_plan`

/**
 * PINNED, and no notifications from inside: the callers announce the changes after commit
 * (src/postgres/deferred-notifications.ts), which keeps the notification-queue lock out of
 * these commits. As a SET clause this costs nothing per call.
 */
export const QUIET = `${PINNED} SET coordinate.notify = off`
