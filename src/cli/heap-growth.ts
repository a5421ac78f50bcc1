import { setFlagsFromString } from 'node:v8'

// After each full collection V8 lets the old space grow to (live size × a factor) before the
// next one. It picks the factor from the allocation rate it measured lately, up to 4× on a
// machine with a few GB of memory: a lull in allocation (the daemon waiting out a database
// restart, but not only then) yields a large factor, and the heap grows to 3–4× what is live.
// The soak saw the daemon's RSS go from 172 MB to 317 MB after a restart while the live heap
// stayed at 50 MB. The daemon's cache turns over old-space objects all the time (each evicted
// unit is old garbage), so a fixed, modest factor costs a few more full collections (each a few
// ms; one every several seconds) and keeps the RSS near its level.

/** The factor the daemon asks for, as V8's percentage above 1 (1.5×). */
export const DAEMON_HEAP_GROWING_PERCENT = 50

const FLAG = '--heap-growing-percent'

/** The V8 flag the daemon should set, or undefined when the operator already chose one (node's argv or NODE_OPTIONS). */
export function heapGrowthFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((arg) => arg.replaceAll('_', '-').startsWith(FLAG))
  return given ? undefined : `${FLAG}=${DAEMON_HEAP_GROWING_PERCENT}`
}

/** Caps how far the heap grows between full collections, for the daemon's process only (see above); returns the flag set, if any. */
export function limitHeapGrowth(): string | undefined {
  const flag = heapGrowthFlag(process.execArgv, process.env.NODE_OPTIONS)
  // V8 reads this flag each time it sets the next collection's limit, so setting it after start-up takes effect.
  if (flag !== undefined) setFlagsFromString(flag)
  return flag
}
