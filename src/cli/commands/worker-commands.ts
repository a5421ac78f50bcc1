import { Command } from 'commander'
import { toJson } from '../output/json-value.js'
import { renderTable } from '../output/table.js'
import { type Context, action, format, withFormats } from './context.js'

interface WorkerOptions {
  all?: boolean
  details?: boolean
  json?: boolean
  jsonl?: boolean
}

/** workers and worker_stats. */
export function workerCommands(context: Context): Command[] {
  const { output } = context

  const workers = withFormats(new Command('workers'))
    .description('list live workers and their modes')
    .option('--all', 'also list workers that stopped or went quiet (not over --address)')
    .option('--details', "also print each worker's last reported environment")
    .addHelpText('after', '\nExample:\n  $ coordinate workers --details --json')
    .action(
      action<WorkerOptions>(async (options) => {
        const operations = await context.operations()
        const entries = await operations.workers(options.all === true)
        const chosen = format(options)
        if (chosen !== 'text') {
          const list = output.list(chosen)
          for (const entry of entries) {
            const item = { name: entry.name, mode: entry.mode, alive: entry.alive }
            await list.item(options.details ? { ...item, environment: toJson(await operations.workerInfo(entry.name)) } : item)
          }
          return list.end()
        }
        if (!options.details) {
          const columns = options.all ? [{ heading: 'Worker' }, { heading: 'Mode' }, { heading: 'Alive' }] : [{ heading: 'Worker' }, { heading: 'Mode' }]
          const rows = entries.map((entry) => (options.all ? [entry.name, entry.mode, entry.alive ? 'yes' : 'no'] : [entry.name, entry.mode]))
          return output.write(renderTable(columns, rows, output.colors.bold))
        }
        for (const entry of entries) {
          let text = `${entry.name} (${entry.mode})${entry.alive ? '' : ' [gone]'}\n`
          const info = await operations.workerInfo(entry.name)
          for (const [key, value] of Object.entries(info ?? {})) text += `  ${key}: ${JSON.stringify(toJson(value))}\n`
          await output.write(text)
        }
      }),
    )

  const workerStats = withFormats(new Command('worker_stats'))
    .description('print how many workers are alive, and how many of them are children')
    .addHelpText('after', '\nExample:\n  $ coordinate worker_stats --json')
    .action(
      action<WorkerOptions>(async (options) => {
        const stats = await (await context.operations()).workerStats()
        const chosen = format(options)
        if (chosen !== 'text') return output.write(`${JSON.stringify(toJson(stats))}\n`)
        await output.write(renderTable([{ heading: 'Stat' }, { heading: 'Value', align: 'right' }], Object.entries(stats).map(([key, value]) => [key, JSON.stringify(toJson(value))]), output.colors.bold))
      }),
    )

  return [workers, workerStats]
}
