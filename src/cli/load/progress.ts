import cliProgress from 'cli-progress'
import type { Writable } from 'node:stream'

/** Reports how a load goes. */
export interface Progress {
  /** `done` units of `total` are loaded. */
  update(done: number): void
  stop(): void
}

const NO_PROGRESS: Progress = { update: () => undefined, stop: () => undefined }

/** A progress bar with rate and ETA on a terminal; nothing when the stream is not one. */
export function progressBar(stream: Writable & { isTTY?: boolean }, total: number, label: string): Progress {
  if (!stream.isTTY || total === 0) return NO_PROGRESS
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total} units | {rate} units/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  const started = performance.now()
  bar.start(total, 0, { rate: 0 })
  return {
    update(done) {
      const seconds = (performance.now() - started) / 1000
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds) : 0 })
    },
    stop: () => bar.stop(),
  }
}
