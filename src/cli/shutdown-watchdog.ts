import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'

/** Ends the process if a stop overruns; told each stage so it can say where the stop hung. */
export interface ShutdownWatchdog {
  /** Records what the stop is doing now. */
  stage(name: string): void
  /** The stop finished: stand down. */
  disarm(): void
}

/** When and how the watchdog ends the process. */
export interface WatchdogOptions {
  /** The process must be gone this long after the watchdog is armed. */
  limitMs: number
  logger: Logger
  /** Exits the process with a code (flushing logs first). */
  exit: (code: number) => never
  /** The exit status when the watchdog fires. */
  exitCode: number
  /** The stage the stop is in when armed. */
  stage: string
}

// The main-thread timer fires this long before the limit, the thread's SIGKILL half as long.
const TIMER_MARGIN_MS = 150
const THREAD_MARGIN_MS = 60

/**
 * Arms a watchdog for a stop. Normally a timer logs the stage the stop hangs in and exits with
 * `exitCode`. A timer cannot fire while the event loop itself is blocked (PGlite runs its
 * database engine on the main thread, and a busy wait there blocks everything), so a worker
 * thread stands behind it: past the limit it writes the stage to stderr and kills the process
 * with SIGKILL (status 137).
 */
export function armShutdownWatchdog(options: WatchdogOptions): ShutdownWatchdog {
  let stage = options.stage
  const timer = setTimeout(() => {
    options.logger.error({ stage, limitMs: options.limitMs }, `the stop did not finish in time; exiting while ${stage}`)
    options.exit(options.exitCode)
  }, Math.max(0, options.limitMs - TIMER_MARGIN_MS))
  const thread = new Worker(WATCHDOG_THREAD, { eval: true, workerData: { stage, delayMs: Math.max(0, options.limitMs - THREAD_MARGIN_MS) } })
  // Never keeps the process alive by itself, and never outlives it.
  thread.unref()
  thread.on('error', (error) => options.logger.warn({ err: error }, 'the shutdown watchdog thread failed'))
  return {
    stage(name) {
      stage = name
      thread.postMessage(name)
    },
    disarm() {
      clearTimeout(timer)
      void thread.terminate()
    },
  }
}

// Runs in the worker thread, as CommonJS or as a module depending on the nearest package.json,
// so it takes Node's modules with getBuiltinModule, which both have. Writes with writeSync: the
// main thread's streams may be stuck along with its loop.
const WATCHDOG_THREAD = `
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads')
const { writeSync } = process.getBuiltinModule('node:fs')
let stage = workerData.stage
parentPort.on('message', (name) => { stage = name })
setTimeout(() => {
  writeSync(2, 'coordinated: the stop did not finish in time and the event loop is blocked (stuck while ' + stage + '); killing the process\\n')
  process.kill(process.pid, 'SIGKILL')
}, workerData.delayMs)
`
