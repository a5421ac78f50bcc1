import type { NewUnit, Operations } from '../client/operations.js'
import type { Progress } from './progress.js'
import { type UnitFile, fileLines, parseUnitLine } from './unit-file.js'

/** Units per request: one statement in the library, one message to a daemon. */
export const DEFAULT_BATCH_SIZE = 10_000

/** How to send a checked file. */
export interface LoadOptions {
  batchSize: number
  /** Line numbers to leave out (bad lines, with --continue-on-error). */
  skip: ReadonlySet<number>
  progress: Progress
}

/**
 * Sends every unit of an already checked file, in batches. The next batch is read and parsed
 * while the previous one is being written, so reading and writing overlap; at most two batches
 * are in memory. Returns how many units were sent.
 */
export async function sendUnitFile(operations: Operations, name: string, file: UnitFile, options: LoadOptions): Promise<number> {
  let sent = 0
  let batch: NewUnit[] = []
  let inFlight: Promise<void> = Promise.resolve()
  const flush = async (): Promise<void> => {
    const units = batch
    batch = []
    await inFlight
    inFlight = operations.addUnits(name, units).then(() => {
      sent += units.length
      options.progress.update(sent)
    })
    // Reading goes on while this batch is written; its failure is seen at the next flush.
    inFlight.catch(() => undefined)
  }
  for await (const { number, text } of fileLines(file)) {
    if (options.skip.has(number)) continue
    const units = parseUnitLine(text)
    if (units === null) continue
    for (const unit of units) batch.push(unit)
    if (batch.length >= options.batchSize) await flush()
  }
  if (batch.length > 0) await flush()
  await inFlight
  return sent
}
