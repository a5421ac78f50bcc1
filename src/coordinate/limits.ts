import { HOUR } from './clock.js'

const DAY = 24 * HOUR

/**
 * The longest namespace, work spec, worker, `then` or runtime name, in UTF-8 bytes. Names are
 * keys of B-tree indexes, whose entries must fit in about a third of a page (2.7 kB).
 */
export const MAX_NAME_BYTES = 1000

/**
 * The longest work unit key, in bytes. Keys live in two B-tree indexes, whose entries must fit
 * in a third of a page (about 2.7 kB); 2000 bytes leaves room for the other columns.
 */
export const MAX_KEY_BYTES = 2000

/** The deepest nesting of lists, tuples and dicts inside a data dict (a cycle exceeds it). */
export const MAX_DATA_DEPTH = 256

/** The largest data dict, encoded as CBOR, in bytes: the size of the biggest CBOR-RPC frame. */
export const MAX_DATA_BYTES = 64 * 1024 * 1024

/** Integer settings of a work spec (priority, weight, max_running…) are stored as 32-bit integers. */
export const MAX_INT32 = 2 ** 31 - 1

/** The least 32-bit integer. */
export const MIN_INT32 = -(2 ** 31)

/** A work unit priority (or adjustment) is a float of at most this magnitude, so sums never overflow. */
export const MAX_UNIT_PRIORITY = Number.MAX_SAFE_INTEGER

/** The longest lease an attempt gets (lifetimeMs, renew, lease_time): one day, as Python's MAX_LEASE_SECONDS. */
export const MAX_LEASE_MS = DAY

/** The longest retry delay and continuous interval: ten years. */
export const MAX_DELAY_MS = 3650 * DAY

/** The most work units one requestAttempts call may ask for. */
export const MAX_UNITS_PER_REQUEST = 10_000

/** The earliest time accepted for not-before, expiration and update times (Postgres's range is wider). */
export const MIN_TIME_MS = Date.parse('0001-01-01T00:00:00.000Z')

/** The latest time accepted: 9999-12-31T23:59:59.999Z. */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
