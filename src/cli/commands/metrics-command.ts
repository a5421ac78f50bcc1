import { Command } from 'commander'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Context, type SpecOptions, action, count, positiveNumber, specName, withSpec } from './context.js'
import { countsRow } from './work-spec-commands.js'

interface MetricsOptions extends SpecOptions {
  interval: number
  count?: number
  jsonl?: boolean
}

/** metrics: a spec's counts over time, as one line rewritten in place on a terminal. */
export function metricsCommand(context: Context): Command {
  const { output } = context
  return withSpec(new Command('metrics'))
    .description("watch a work spec's counts and its finishing rate until interrupted")
    .option('-i, --interval <seconds>', 'seconds between samples', positiveNumber('--interval'), 2)
    .option('-n, --count <n>', 'stop after N samples', count('--count'))
    .option('--jsonl', 'print one JSON object per sample')
    .addHelpText('after', '\nExample:\n  $ coordinate metrics -W crawl -i 5')
    .action(
      action<MetricsOptions>(async (options) => {
        const name = await specName(options)
        const operations = await context.operations()
        const live = output.stdout.isTTY === true && !options.jsonl
        const stop = new AbortController()
        const onSignal = (): void => stop.abort()
        process.once('SIGINT', onSignal)
        let previous: { at: number; finished: number } | undefined
        try {
          for (let sample = 1; !stop.signal.aborted; sample++) {
            const row = countsRow(name, await operations.countUnits(name))
            const at = performance.now()
            const rate = previous ? ((row.finished - previous.finished) * 1000) / (at - previous.at) : 0
            previous = { at, finished: row.finished }
            if (options.jsonl) {
              await output.write(`${JSON.stringify({ time: new Date().toISOString(), ...row, finished_per_second: Math.round(rate * 10) / 10 })}\n`)
            } else {
              const line = `${new Date().toISOString().slice(11, 19)}  ${name}  available ${row.available}  pending ${row.pending}  failed ${row.failed}  finished ${row.finished}  (${rate.toFixed(1)}/s)`
              await output.write(live ? `\r\x1b[2K${line}` : `${line}\n`)
            }
            if (options.count !== undefined && sample >= options.count) break
            await sleep(options.interval * 1000, undefined, { signal: stop.signal }).catch(() => undefined)
          }
        } finally {
          process.off('SIGINT', onSignal)
          if (live) await output.write('\n')
        }
      }),
    )
}
