import { Command, Option } from 'commander'
import { NoSuchWorkSpecError } from '../../coordinate/errors.js'
import { UsageError } from '../usage-error.js'
import { DEFAULT_BATCH_SIZE, DEFAULT_PARALLEL_BATCHES, sendUnitFile } from '../load/load-units.js'
import { progressBar } from '../load/progress.js'
import { BadLineError, checkUnitFile, openUnitFile } from '../load/unit-file.js'
import { type Context, type SpecOptions, action, count, integer, readSpecFile, specName, withSpec } from './context.js'

interface UnitFileOptions {
  workUnits?: string
  continueOnError?: boolean
  batchSize?: number
  parallel: number
  json?: boolean
}

// Bad lines listed one by one with --continue-on-error; past this they are only counted.
const BAD_LINES_SHOWN = 20

const FILE_HELP = `
The work unit file has one JSON object per line, mapping a work unit key to its data:
  {"https://example.com/": {"depth": 0}}
Blank lines and lines starting with # are skipped; FILE may be - (stdin) or end in .gz.
The whole file is checked before anything is sent: a bad line stops the command (exit 1,
naming the line) and nothing is loaded, unless --continue-on-error skips bad lines.`

function withUnitFileOptions(command: Command): Command {
  return command
    .option('--continue-on-error', 'skip bad lines (each is reported) and load the rest')
    .addOption(new Option('--batch-size <n>', `work units per request (default ${DEFAULT_BATCH_SIZE}; 2000 over --http)`).argParser(count('--batch-size')))
    .addOption(new Option('--parallel <n>', 'requests in flight at once').argParser(count('--parallel')).default(DEFAULT_PARALLEL_BATCHES).hideHelp())
    .option('--json', 'print the outcome as JSON')
}

/** load and addwork. */
export function loadCommands(context: Context): Command[] {
  const { output } = context

  // Checks the whole file, runs `prepare` (which may set the spec), then sends the units.
  async function loadFile(name: string, options: UnitFileOptions, prepare: () => Promise<void>): Promise<void> {
    if (options.batchSize !== undefined && options.batchSize < 1) throw new UsageError('--batch-size must be at least 1')
    const started = performance.now()
    const file = options.workUnits === undefined ? undefined : await openUnitFile(options.workUnits, context.stdin)
    try {
      const check = file ? await checkUnitFile(file, options.continueOnError === true) : { units: 0, lines: 0, bad: [] }
      const [first] = check.bad
      if (first && !options.continueOnError) throw new BadLineError(first.source, first.line, `${first.reason}; nothing was loaded`)
      for (const bad of check.bad.slice(0, BAD_LINES_SHOWN)) output.note(`skipping ${bad.message}`)
      if (check.bad.length > BAD_LINES_SHOWN) output.note(`… and ${check.bad.length - BAD_LINES_SHOWN} more bad lines`)
      await prepare()
      const operations = await context.operations()
      const progress = progressBar(output.stderr, check.units, `loading ${name}`)
      let sent = 0
      try {
        if (file) sent = await sendUnitFile(operations, name, file, { batchSize: options.batchSize ?? operations.loadBatchSize ?? DEFAULT_BATCH_SIZE, parallel: options.parallel, skip: new Set(check.bad.map((bad) => bad.line)), progress })
      } finally {
        progress.stop()
      }
      const seconds = (performance.now() - started) / 1000
      const rate = seconds > 0 ? Math.round(sent / seconds) : 0
      if (options.json) {
        await output.write(`${JSON.stringify({ work_spec: name, units: sent, lines: check.lines, skipped_lines: check.bad.map((bad) => bad.line), seconds, units_per_second: rate })}\n`)
      } else if (file) {
        const skipped = check.bad.length > 0 ? `, skipped ${check.bad.length} bad line${check.bad.length === 1 ? '' : 's'}` : ''
        await output.write(`Loaded ${sent} work units into ${name} in ${seconds.toFixed(1)} s (${rate} units/s${skipped}).\n`)
      } else {
        await output.write(`Set work spec ${name}; no work units.\n`)
      }
    } finally {
      await file?.dispose()
    }
  }

  const load = withUnitFileOptions(
    new Command('load')
      .description('set a work spec from a file and add work units to it')
      .requiredOption('-w, --work-spec <file>', 'the work spec, a YAML or JSON file')
      .option('-u, --work-units <file>', 'work units, one JSON object per line (- for stdin)')
      .option('--no-work', 'set the work spec only')
      .option('-n, --nice <n>', 'the nice level of the work spec (lower runs more)', integer('--nice'), 0),
  )
    .addHelpText('after', `${FILE_HELP}\n\nExample:\n  $ coordinate load -w crawl.yaml -u urls.jsonl -n 5`)
    .action(
      action<UnitFileOptions & { workSpec: string; work: boolean; nice: number }>(async (options) => {
        if ((options.workUnits === undefined) === options.work) throw new UsageError('give the work units with -u FILE (or - for stdin), or --no-work, not both')
        const spec = await readSpecFile(options.workSpec)
        if (typeof spec.name !== 'string' || spec.name === '') throw new UsageError(`${options.workSpec}: the work spec has no name`)
        spec.nice = options.nice
        const name = spec.name
        await loadFile(name, options, async () => (await context.operations()).setWorkSpec(spec))
      }),
    )

  const addwork = withUnitFileOptions(
    withSpec(new Command('addwork'))
      .description('add work units to an existing work spec')
      .requiredOption('-u, --work-units <file>', 'work units, one JSON object per line (- for stdin)'),
  )
    .addHelpText('after', `${FILE_HELP}\n\nExample:\n  $ generate-urls | coordinate addwork -W crawl -u -`)
    .action(
      action<UnitFileOptions & SpecOptions>(async (options) => {
        const name = await specName(options)
        await loadFile(name, options, async () => {
          if ((await (await context.operations()).workSpec(name)) === null) throw new NoSuchWorkSpecError(name)
        })
      }),
    )

  return [load, addwork]
}
