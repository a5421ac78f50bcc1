// The JSON the dashboard routes answer with, shared as types with the browser code in ui/.
// Types only: this file must not import anything that needs Node.

/**
 * A data value in a form the browser can show faithfully: JSON's own types as themselves, and
 * every other value as an object tagged by `$` (dicts too, so that a dict key named `$` is
 * never mistaken for a tag).
 */
export type DisplayValue =
  | null
  | boolean
  | number
  | string
  | DisplayValue[]
  | { $: 'dict'; items: [string, DisplayValue][] }
  | { $: 'map'; items: [DisplayValue, DisplayValue][] }
  | { $: 'bytes'; base64: string; text: string | null }
  | { $: 'tuple'; items: DisplayValue[] }
  | { $: 'uuid'; value: string }
  | { $: 'int'; value: string }
  | { $: 'float'; value: string }

/** Unit counts by status; every status is present. */
export interface StatusCounts {
  available: number
  pending: number
  delayed: number
  finished: number
  failed: number
}

/** Finished and failed attempts per minute over the last hour, oldest minute first. */
export interface Throughput {
  /** The start of the first minute (RFC 3339). */
  start: string
  finished: number[]
  failed: number[]
}

/** One spec's line on the overview. */
export interface OverviewSpec {
  name: string
  counts: StatusCounts
  paused: boolean
  priority: number
  weight: number
  /** Units still marked pending whose lease ran out. */
  stuck: number
  finishedLastHour: number
  failedLastHour: number
}

/** One namespace on the overview. */
export interface OverviewNamespace {
  name: string
  specs: OverviewSpec[]
  workers: { active: number; stale: number }
}

/** GET /dashboard/overview */
export interface Overview {
  now: string
  namespaces: OverviewNamespace[]
  throughput: Throughput
}

/** A spec's settings as the dashboard shows and edits them. */
export interface SpecMeta {
  priority: number
  weight: number
  paused: boolean
  continuous: boolean
  canBeContinuous: boolean
  maxRunning: number
  maxGetwork: number
  maxRetries: number
  minMemoryGb: number
  intervalMs: number
  then: string
  runtime: string
}

/** GET /dashboard/namespace/{ns}/work_spec/{spec} */
export interface SpecDetail {
  now: string
  namespace: string
  name: string
  definition: DisplayValue
  meta: SpecMeta
  counts: StatusCounts
  stuck: number
  throughput: Throughput
}

/** One row of a unit listing. */
export interface UnitRow {
  /** The key in the path encoding (raw, or `-` + base64url of its bytes). */
  key: string
  /** The key as text (invalid UTF-8 shows as U+FFFD). */
  name: string
  /** The key is not valid UTF-8 text. */
  binary: boolean
  status: keyof StatusCounts
  priority: number
  notBefore: string | null
  worker: string | null
  lastTime: string | null
}

/** GET /dashboard/namespace/{ns}/work_spec/{spec}/units */
export interface UnitPage {
  units: UnitRow[]
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null
}

/** One attempt on the unit page. */
export interface AttemptView {
  id: string
  worker: string
  status: string
  startTime: string
  endTime: string | null
  expirationTime: string
  active: boolean
  data: DisplayValue
  /** The failure traceback, when the attempt's data has one. */
  traceback: string | null
}

/** A unit this one's `output` asked for in the `then` spec. */
export interface ChainedUnit {
  key: string
  name: string
  exists: boolean
}

/** GET /dashboard/namespace/{ns}/work_spec/{spec}/work_unit/{key} */
export interface UnitDetail {
  now: string
  namespace: string
  workSpec: string
  key: string
  name: string
  binary: boolean
  keyBytes: DisplayValue
  status: keyof StatusCounts
  priority: number
  notBefore: string | null
  data: DisplayValue
  attempts: AttemptView[]
  chained: { workSpec: string; units: ChainedUnit[]; more: number } | null
}

/** One worker on the workers page. */
export interface WorkerView {
  name: string
  parent: string | null
  mode: string
  active: boolean
  /** Active, but its expiration has passed: it stopped sending heartbeats. */
  stale: boolean
  data: DisplayValue
  lastUpdate: string
  expiration: string
  attempts: { workSpec: string; key: string; name: string }[]
}

/** GET /dashboard/namespace/{ns}/workers */
export interface WorkersPage {
  now: string
  workers: WorkerView[]
}

/** POST /dashboard/namespace/{ns}/work_spec/{spec}/retry */
export interface RetryResult {
  retried: number
}
