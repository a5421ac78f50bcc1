import { Command } from 'commander'
import { createInterface } from 'node:readline/promises'
import { NoSuchWorkSpecError } from '../../coordinate/errors.js'
import { mapLimit } from '../../coordinate/map-limit.js'
import type { UnitCounts } from '../client/operations.js'
import { UsageError } from '../usage-error.js'
import { toJson } from '../output/json-value.js'
import { renderTable } from '../output/table.js'
import { type Context, type SpecOptions, action, format, specName, withFormats, withSpec } from './context.js'

interface FormatOptions {
  json?: boolean
  jsonl?: boolean
}

/** One spec's counts as `summary` and `status` print them; available includes delayed units. */
export interface CountsRow {
  work_spec: string
  available: number
  pending: number
  failed: number
  finished: number
  total: number
}

/** Counts in the shape every output uses. */
export function countsRow(name: string, counts: UnitCounts): CountsRow {
  const available = (counts.available ?? 0) + (counts.delayed ?? 0)
  const pending = counts.pending ?? 0
  const failed = counts.failed ?? 0
  const finished = counts.finished ?? 0
  return { work_spec: name, available, pending, failed, finished, total: available + pending + failed + finished }
}

const COUNT_COLUMNS = [
  { heading: 'Work spec' },
  { heading: 'Available', align: 'right' },
  { heading: 'Pending', align: 'right' },
  { heading: 'Failed', align: 'right' },
  { heading: 'Finished', align: 'right' },
  { heading: 'Total', align: 'right' },
] as const

// Specs counted at once: a database answers them in parallel; a daemon connection queues them.
const COUNT_PARALLELISM = 4

/** summary, work_specs, work_spec, status, pause, resume and delete. */
export function workSpecCommands(context: Context): Command[] {
  const { output } = context

  async function printRows(rows: CountsRow[], options: FormatOptions): Promise<void> {
    const chosen = format(options)
    if (chosen !== 'text') {
      const list = output.list(chosen)
      for (const row of rows) await list.item({ ...row })
      return list.end()
    }
    const { colors } = output
    const cells = rows.map((row) => [row.work_spec, row.available, row.pending, row.failed > 0 ? colors.red(String(row.failed)) : 0, row.finished, row.total])
    await output.write(renderTable(COUNT_COLUMNS, cells, colors.bold))
  }

  const summary = withFormats(new Command('summary'))
    .description('print the number of work units in each status of every work spec')
    .addHelpText('after', '\nExamples:\n  $ coordinate summary\n  $ coordinate --database-url postgres://localhost/jobs summary --json')
    .action(
      action<FormatOptions>(async (options) => {
        const operations = await context.operations()
        const names = await operations.workSpecNames()
        const rows = await mapLimit(names, COUNT_PARALLELISM, async (name) => {
          try {
            return countsRow(name, await operations.countUnits(name))
          } catch (error) {
            // Deleted between listing and counting: leave it out.
            if (error instanceof NoSuchWorkSpecError) return null
            throw error
          }
        })
        await printRows(rows.filter((row): row is CountsRow => row !== null), options)
      }),
    )

  const workSpecs = withFormats(new Command('work_specs'))
    .description('print the names of all work specs')
    .addHelpText('after', '\nExample:\n  $ coordinate work_specs --jsonl')
    .action(
      action<FormatOptions>(async (options) => {
        const names = await (await context.operations()).workSpecNames()
        const chosen = format(options)
        if (chosen === 'text') return output.write(names.map((name) => `${name}\n`).join(''))
        const list = output.list(chosen)
        for (const name of names) await list.item(name)
        await list.end()
      }),
    )

  const workSpec = withSpec(new Command('work_spec'))
    .description("print a work spec's definition (YAML by default)")
    .option('--json', 'print JSON')
    .option('--yaml', 'print YAML (the default)')
    .addHelpText('after', '\nExample:\n  $ coordinate work_spec -W crawl --json')
    .action(
      action<SpecOptions & { json?: boolean }>(async (options) => {
        const name = await specName(options)
        const data = await (await context.operations()).workSpec(name)
        if (data === null) throw new NoSuchWorkSpecError(name)
        const json = toJson(data)
        await output.write(options.json ? `${JSON.stringify(json, null, 4)}\n` : (await import('yaml')).stringify(json))
      }),
    )

  const status = withFormats(withSpec(new Command('status')))
    .description('print the number of work units in each status of one work spec')
    .addHelpText('after', '\nExample:\n  $ coordinate status -W crawl --json')
    .action(
      action<SpecOptions & FormatOptions>(async (options) => {
        const name = await specName(options)
        await printRows([countsRow(name, await (await context.operations()).countUnits(name))], options)
      }),
    )

  const pauseCommand = (paused: boolean): Command =>
    new Command(paused ? 'pause' : 'resume')
      .description(paused ? 'stop handing out work units of a work spec' : 'hand out work units of a paused work spec again')
      .argument('<spec>', 'the work spec')
      .addHelpText('after', `\nExample:\n  $ coordinate ${paused ? 'pause' : 'resume'} crawl`)
      .action(
        action<object>(async (_options, [name]) => {
          await (await context.operations()).setPaused(name!, paused)
          await output.write(`${paused ? 'Paused' : 'Resumed'} ${name}.\n`)
        }),
      )

  const remove = withSpec(new Command('delete'))
    .description('delete one work spec (-W/-w) or, without one, every work spec, with their work units')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', '\nExamples:\n  $ coordinate delete -W crawl -y\n  $ coordinate delete --yes          # everything in the namespace')
    .action(
      action<SpecOptions & { yes?: boolean }>(async (options) => {
        const one = options.workSpec !== undefined || options.workSpecName !== undefined
        const name = one ? await specName(options) : undefined
        const operations = await context.operations()
        const what = name === undefined ? `every work spec at ${operations.target}` : `work spec ${name}`
        if (!options.yes && !(await confirm(context, `Delete ${what}? [y/N] `))) {
          await output.write('Not deleting anything.\n')
          return
        }
        if (name === undefined) {
          await output.write(`Deleted ${await operations.deleteAllWorkSpecs()} work specs.\n`)
        } else {
          if (!(await operations.deleteWorkSpec(name))) throw new NoSuchWorkSpecError(name)
          await output.write(`Deleted work spec ${name}.\n`)
        }
      }),
    )

  return [summary, workSpecs, workSpec, status, pauseCommand(true), pauseCommand(false), remove]
}

/** Asks on the terminal; refuses when stdin is not one, since nobody could answer. */
async function confirm(context: Context, question: string): Promise<boolean> {
  if (!context.stdin.isTTY) throw new UsageError('refusing to delete without --yes: stdin is not a terminal to ask on')
  const prompt = createInterface({ input: context.stdin, output: context.output.stderr })
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim())
  } finally {
    prompt.close()
  }
}
