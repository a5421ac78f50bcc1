import type { NewUnit, Operations } from '../client/operations.js'
import type { Progress } from './progress.js'
import { type UnitFile, fileLines, parseUnitLine } from './unit-file.js'

/** Units per request: one statement in the library, one message to a daemon. */
export const DEFAULT_BATCH_SIZE = 10_000
/** Batches written at once: one is decoded or parsed while the database writes another. */
export const DEFAULT_PARALLEL_BATCHES = 2

/** How to send a checked file. */
export interface LoadOptions {
  batchSize: number
  /** Batches being written at once (default 2). */
  parallel?: number
  /** Line numbers to leave out (bad lines, with --continue-on-error). */
  skip: ReadonlySet<number>
  progress: Progress
}

/**
 * Sends every unit of an already checked file, in batches. Reading and parsing go on while
 * up to `parallel` batches are being written, so at most that many plus one are in memory.
 * The first failed batch stops the load and is thrown. Returns how many units were sent.
 */
export async function sendUnitFile(operations: Operations, name: string, file: UnitFile, options: LoadOptions): Promise<number> {
  const parallel = Math.max(1, options.parallel ?? DEFAULT_PARALLEL_BATCHES)
  let sent = 0
  let batch: NewUnit[] = []
  const inFlight = new Set<Promise<void>>()
  let failure: { error: unknown } | undefined
  const flush = async (): Promise<void> => {
    const units = batch
    batch = []
    while (inFlight.size >= parallel) await Promise.race(inFlight)
    if (failure) throw failure.error
    const write = operations.addUnits(name, units).then(
      () => {
        sent += units.length
        options.progress.update(sent)
      },
      (error: unknown) => {
        failure ??= { error }
      },
    )
    inFlight.add(write)
    void write.then(() => inFlight.delete(write))
  }
  try {
    for await (const { number, text } of fileLines(file)) {
      if (options.skip.has(number)) continue
      const units = parseUnitLine(text)
      if (units === null) continue
      for (const unit of units) batch.push(unit)
      if (batch.length >= options.batchSize) await flush()
    }
    if (batch.length > 0) await flush()
  } finally {
    await Promise.all(inFlight)
  }
  if (failure) throw failure.error
  return sent
}
