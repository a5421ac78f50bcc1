import type { WorkSpecMeta } from './work-spec-meta.js'

/** A work spec the scheduler may choose: its name and its meta with counts filled in. */
export interface SchedulerCandidate {
  name: string
  meta: WorkSpecMeta
}

/** What narrows the scheduler's choice, and where its randomness comes from. */
export interface ChooseWorkSpecOptions {
  /** Memory the worker offers; specs whose minMemoryGb is larger are skipped. Unset = no limit. */
  availableGb?: number
  /** Only specs with these names (empty or unset = any). */
  workSpecs?: readonly string[]
  /** Only specs whose runtime is exactly one of these (empty or unset = any). */
  runtimes?: readonly string[]
  /** A uniform number in [0, 1); Math.random unless a test needs repeatable picks. */
  random?: () => number
}

/** Tells whether a continuous spec may make a synthetic unit now. */
export function canStartContinuous(meta: WorkSpecMeta, now: Date): boolean {
  // A synthetic unit is only made when the spec has run completely dry, so that continuous
  // specs never pile up work faster than their workers drain it.
  if (!meta.continuous || meta.availableCount > 0 || meta.pendingCount > 0) return false
  return meta.nextContinuous === null || now.getTime() >= meta.nextContinuous.getTime()
}

/** Tells whether a spec could hand out a unit now, ignoring every other spec. */
export function canDoWork(meta: WorkSpecMeta, now: Date): boolean {
  if (meta.paused || meta.weight <= 0) return false
  if (meta.maxRunning > 0 && meta.pendingCount >= meta.maxRunning) return false
  if (meta.availableCount > 0) return true
  return canStartContinuous(meta, now)
}

/** Tells whether a request with these options may get work from this spec at all. */
function admits(options: ChooseWorkSpecOptions, { name, meta }: SchedulerCandidate): boolean {
  const { workSpecs, runtimes, availableGb } = options
  return (
    (!workSpecs?.length || workSpecs.includes(name)) &&
    (!runtimes?.length || runtimes.includes(meta.runtime)) &&
    (availableGb === undefined || meta.minMemoryGb <= availableGb)
  )
}

/** Picks the spec a worker should get work from, or null when no spec has any to give. */
export function chooseWorkSpec(
  candidates: readonly SchedulerCandidate[],
  now: Date,
  options: ChooseWorkSpecOptions = {},
): string | null {
  const able = candidates.filter((candidate) => admits(options, candidate) && canDoWork(candidate.meta, now))
  if (able.length === 0) return null

  // Priority is absolute: lower-priority specs wait until every higher one is out of work.
  const top = Math.max(...able.map(({ meta }) => meta.priority))
  const survivors = able.filter(({ meta }) => meta.priority === top)

  // Each spec deserves weight/W of the P+1 units that will be pending once this one is handed
  // out; scoring by how far it lags that share (scaled by W to stay in integers for integer
  // weights) steers pending counts toward the weights. The scores sum to W, so some are positive.
  let totalWeight = 0
  let totalPending = 0
  for (const { meta } of survivors) {
    totalWeight += meta.weight
    totalPending += meta.pendingCount
  }
  const scored: { name: string; score: number }[] = []
  let totalScore = 0
  for (const { name, meta } of survivors) {
    const score = meta.weight * (totalPending + 1) - totalWeight * meta.pendingCount
    if (score <= 0) continue
    scored.push({ name, score })
    totalScore += score
  }
  if (scored.length === 0) return null

  let point = (options.random ?? Math.random)() * totalScore
  for (const { name, score } of scored) {
    if (point < score) return name
    point -= score
  }
  // Rounding can leave the point a hair past the last bucket; it belongs to that bucket.
  return scored[scored.length - 1]!.name
}

/**
 * Tells whether choosing `chosen` follows from the specs' meta alone: every other spec the
 * request admits that could ever hand out work has a lower priority, and `chosen` has no cap
 * or continuous timing that depends on counts. While that meta stands, the same request
 * chooses the same spec whenever it has available units, whatever the other specs' counts.
 */
export function isForcedChoice(candidates: readonly SchedulerCandidate[], chosen: SchedulerCandidate, options: ChooseWorkSpecOptions = {}): boolean {
  const { meta } = chosen
  if (meta.maxRunning > 0 || meta.continuous) return false
  return candidates.every(
    (other) => other === chosen || other.meta.paused || other.meta.weight <= 0 || !admits(options, other) || other.meta.priority < meta.priority,
  )
}

/** How many units one request may take from a spec, given what was asked and the spec's caps. */
export function unitsToClaim(meta: WorkSpecMeta, requested: number | undefined): number {
  // A missing, fractional or non-finite request must not turn into a bogus LIMIT downstream.
  const asked = requested === undefined || !Number.isFinite(requested) ? 1 : Math.trunc(requested)
  let count = Math.max(1, asked)
  if (meta.maxAttemptsReturned > 0) count = Math.min(count, meta.maxAttemptsReturned)
  if (meta.maxRunning > 0) count = Math.min(count, Math.max(0, meta.maxRunning - meta.pendingCount))
  return count
}

/** The key of a synthetic continuous unit made at `now`, in go-coordinate's format. */
export function continuousUnitName(now: Date): string {
  // Floor and a non-negative remainder keep pre-1970 times consistent with go's Unix()/Nanosecond().
  const ms = now.getTime()
  const seconds = Math.floor(ms / 1000)
  const millis = ms - seconds * 1000
  return `${seconds}.${String(millis).padStart(3, '0')}`
}
