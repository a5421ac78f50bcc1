import { Command, Option } from 'commander'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import type { Operations, UnitEntry, UnitSelection } from '../client/operations.js'
import { UsageError } from '../usage-error.js'
import { type JsonValue, bytesToJson, keyText, toJson } from '../output/json-value.js'
import { type Context, type SpecOptions, action, count, format, integer, specName, withFormats, withSpec } from './context.js'

/** The statuses -s takes, as Python's CLI names them (it also had blocked, which nothing produces). */
export const STATUS_CHOICES: readonly WorkUnitStatus[] = ['available', 'pending', 'finished', 'failed']

/** Units fetched per request while paging; the daemon caps a page at 10,000. */
export const DEFAULT_PAGE_SIZE = 1000

const statusOption = (): Option => new Option('-s, --status <status>', 'only work units in this status').choices(STATUS_CHOICES)

interface ListOptions extends SpecOptions {
  status?: WorkUnitStatus
  limit?: number
  details?: boolean
  pageSize: number
  json?: boolean
  jsonl?: boolean
}

/**
 * Calls `each` for every selected unit, page by page in key order (keyset paging: each page
 * starts after the last key of the one before), so that any number of units is listed in
 * bounded memory. The next page is fetched while the current one is handled.
 */
export async function forEachUnitPage(
  operations: Operations,
  name: string,
  query: { statuses?: WorkUnitStatus[]; limit?: number; pageSize: number },
  each: (page: UnitEntry[]) => Promise<void>,
): Promise<void> {
  let remaining = query.limit ?? Number.POSITIVE_INFINITY
  const fetch = (after: Uint8Array | undefined): Promise<UnitEntry[]> | undefined => {
    const limit = Math.min(query.pageSize, remaining)
    if (limit <= 0) return undefined
    return operations.unitPage(name, { limit, ...(query.statuses ? { statuses: query.statuses } : {}), ...(after ? { after } : {}) })
  }
  let next = fetch(undefined)
  while (next) {
    const page = await next
    const asked = Math.min(query.pageSize, remaining)
    remaining -= page.length
    const last = page.at(-1)
    next = page.length < asked || !last ? undefined : fetch(last.key)
    // A page fetched ahead must not be left to reject unhandled if handling this one throws.
    next?.catch(() => undefined)
    if (page.length > 0) await each(page)
  }
}

/** work_units, work_unit, retry, prioritize and clear. */
export function workUnitCommands(context: Context): Command[] {
  const { output } = context

  const workUnits = withFormats(withSpec(new Command('work_units')))
    .description('list the work units of a work spec, in key order, page by page')
    .addOption(statusOption())
    .option('-n, --limit <n>', 'print at most N work units', count('--limit'))
    .option('--details', 'also print each work unit\'s data')
    .addOption(new Option('--page-size <n>', 'work units fetched per request').argParser(count('--page-size')).default(DEFAULT_PAGE_SIZE).hideHelp())
    .addHelpText('after', '\nExamples:\n  $ coordinate work_units -W crawl -s failed --details\n  $ coordinate work_units -W crawl --jsonl | wc -l')
    .action(
      action<ListOptions>(async (options) => {
        const name = await specName(options)
        if (options.pageSize < 1 || options.pageSize > 10_000) throw new UsageError('--page-size must be between 1 and 10000')
        const chosen = format(options)
        const list = chosen === 'text' ? undefined : output.list(chosen)
        await forEachUnitPage(
          await context.operations(),
          name,
          { ...(options.status ? { statuses: [options.status] } : {}), ...(options.limit !== undefined ? { limit: options.limit } : {}), pageSize: options.pageSize },
          async (page) => {
            if (list) {
              for (const unit of page) await list.item(options.details ? { key: bytesToJson(unit.key), data: toJson(unit.data) } : bytesToJson(unit.key))
              return
            }
            await output.write(page.map((unit) => (options.details ? detailText(unit) : `${keyText(unit.key)}\n`)).join(''))
          },
        )
        await list?.end()
      }),
    )

  const workUnit = withFormats(withSpec(new Command('work_unit')))
    .description('print the status, worker, lease and traceback of work units')
    .argument('<keys...>', 'work unit keys')
    .addHelpText('after', '\nExample:\n  $ coordinate work_unit -W crawl https://example.com/')
    .action(
      action<SpecOptions & { json?: boolean; jsonl?: boolean }>(async (options, keys) => {
        const name = await specName(options)
        const statuses = await (await context.operations()).unitStatuses(name, keys)
        const chosen = format(options)
        const list = chosen === 'text' ? undefined : output.list(chosen)
        for (const [i, key] of keys.entries()) {
          const entry = statuses[i] ?? null
          if (entry === null) {
            context.failed = true
            if (list) await list.item({ key, status: null })
            else output.note(`${key}: no such work unit`)
            continue
          }
          const json: { [field: string]: JsonValue } = { key, status: entry.status }
          if (entry.workerId !== undefined) json.worker_id = entry.workerId
          if (entry.expiration) json.expiration = entry.expiration.toISOString()
          if (entry.traceback !== undefined) json.traceback = toJson(entry.traceback)
          if (list) {
            await list.item(json)
            continue
          }
          let text = `${key} (${entry.status})\n`
          if (entry.expiration) text += `  Expires: ${entry.expiration.toISOString()}\n`
          if (entry.workerId !== undefined) text += `  Worker: ${entry.workerId}\n`
          if (entry.traceback !== undefined) text += `  Traceback:\n${indent(traceText(entry.traceback))}\n`
          await output.write(text)
        }
        await list?.end()
      }),
    )

  const retry = withSpec(new Command('retry'))
    .description('make failed work units available again')
    .option('-a, --all', 'retry every failed work unit')
    .argument('[keys...]', 'work unit keys to retry')
    .addHelpText('after', '\nExamples:\n  $ coordinate retry -W crawl -a\n  $ coordinate retry -W crawl unit-17 unit-18')
    .action(
      action<SpecOptions & { all?: boolean }>(async (options, keys) => {
        const name = await specName(options)
        if (!options.all && keys.length === 0) throw new UsageError('name the work units to retry, or retry them all with -a')
        const operations = await context.operations()
        let retried = 0
        if (options.all) {
          await forEachUnitPage(operations, name, { statuses: ['failed'], pageSize: DEFAULT_PAGE_SIZE }, async (page) => {
            retried += await operations.retryUnits(name, page.map((unit) => unit.key))
          })
        } else {
          retried = await operations.retryUnits(name, keys.map((key) => new Uint8Array(Buffer.from(key, 'utf8'))))
          if (retried < keys.length) {
            output.note(`${keys.length - retried} of the named work units were not failed (or do not exist).`)
            context.failed = true
          }
        }
        await output.write(retried === 0 ? 'Nothing to do.\n' : `Retried ${retried} work unit${retried === 1 ? '' : 's'}.\n`)
      }),
    )

  const prioritize = new Command('prioritize')
    .description('set the priority of work units, so that they run before the others')
    .argument('<spec>', 'the work spec')
    .argument('<keys...>', 'work unit keys')
    .option('-p, --priority <n>', 'the priority to set (higher runs sooner)', integer('--priority'), 1)
    .addHelpText('after', '\nExample:\n  $ coordinate prioritize crawl https://example.com/urgent -p 10')
    .action(
      action<{ priority: number }>(async (options, [name, ...keys]) => {
        await (await context.operations()).prioritize(name!, keys, options.priority)
        await output.write(`Set the priority of ${keys.length} work unit${keys.length === 1 ? '' : 's'} to ${options.priority}.\n`)
      }),
    )

  const clear = withSpec(new Command('clear'))
    .description('delete work units of a work spec: the named ones, those in a status, or all')
    .addOption(statusOption())
    .argument('[keys...]', 'work unit keys to delete')
    .addHelpText('after', '\nExamples:\n  $ coordinate clear -W crawl -s finished\n  $ coordinate clear -W crawl unit-1 unit-2')
    .action(
      action<SpecOptions & { status?: WorkUnitStatus }>(async (options, keys) => {
        const name = await specName(options)
        let selection: UnitSelection = { all: true }
        if (keys.length > 0 || options.status) {
          selection = {}
          if (keys.length > 0) selection.keys = keys
          if (options.status) selection.status = options.status
        }
        const removed = await (await context.operations()).deleteUnits(name, selection)
        await output.write(`Removed ${removed} work unit${removed === 1 ? '' : 's'}.\n`)
      }),
    )

  return [workUnits, workUnit, retry, prioritize, clear]
}

// Python's --details: the key, its data, and a traceback written out below rather than escaped.
function detailText(unit: UnitEntry): string {
  const { traceback, ...rest } = unit.data
  const data = traceback === undefined ? unit.data : { ...rest, traceback: 'shown below' }
  let text = `${keyText(unit.key)}: ${JSON.stringify(toJson(data))}\n`
  if (traceback !== undefined && traceback !== null && traceback !== '') text += `${indent(traceText(traceback))}\n`
  return text
}

function traceText(traceback: unknown): string {
  const json = toJson(traceback as never)
  return typeof json === 'string' ? json : JSON.stringify(json)
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')
}
