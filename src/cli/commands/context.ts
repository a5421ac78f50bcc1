import { type Command, InvalidArgumentError, Option } from 'commander'
import type { Readable } from 'node:stream'
import { readFile } from 'node:fs/promises'
import type { DataDict } from '../../coordinate/data.js'
import { openOperations } from '../client/connect.js'
import type { Operations } from '../client/operations.js'
import { BadFileError, type ConnectionFlags, resolveSettings } from '../client/settings.js'
import { UsageError } from '../usage-error.js'
import { type Format, type Output, formatOf } from '../output/output.js'

/** What every command runs with: the streams, the environment, and the operations, opened on first use. */
export class Context {
  /** Set by a command that printed its results but could not do all it was asked (exit 1). */
  failed = false
  #operations: Promise<Operations> | undefined

  constructor(
    readonly output: Output,
    readonly stdin: Readable & { isTTY?: boolean },
    readonly env: NodeJS.ProcessEnv,
    readonly flags: () => ConnectionFlags & { connectTimeout: number },
  ) {}

  /** The operations for the target the options, environment and config file name. */
  operations(): Promise<Operations> {
    this.#operations ??= (async () => {
      const flags = this.flags()
      return openOperations(await resolveSettings(flags, this.env), flags.connectTimeout * 1000)
    })()
    return this.#operations
  }

  /** Closes what operations() opened. */
  async close(): Promise<void> {
    const operations = await this.#operations?.catch(() => undefined)
    await operations?.close()
  }
}

/** Runs a command's body with its options; the Command comes last in commander's action arguments. */
export function action<T extends object>(body: (options: T, args: string[], command: Command) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command
    await body(command.opts() as T, command.args, command)
  }
}

/** Adds --json and --jsonl to a listing command. */
export function withFormats(command: Command): Command {
  return command
    .addOption(new Option('--json', 'print one JSON document').conflicts('jsonl'))
    .addOption(new Option('--jsonl', 'print one JSON value per line').conflicts('json'))
}

/** The format a listing command's flags ask for. */
export function format(options: { json?: boolean; jsonl?: boolean }): Format {
  return formatOf(options)
}

/** Options naming a work spec, as Python's CLI takes them: a spec file, or a name. */
export interface SpecOptions {
  workSpec?: string
  workSpecName?: string
}

/** Adds -w FILE / -W NAME (one of them required). */
export function withSpec(command: Command): Command {
  return command
    .addOption(new Option('-w, --work-spec <file>', 'a YAML or JSON work spec file (its name is used)').conflicts('workSpecName'))
    .addOption(new Option('-W, --work-spec-name <name>', 'the name of a work spec').conflicts('workSpec'))
}

/** The spec name from -W, or from the `name` in the -w file. */
export async function specName(options: SpecOptions): Promise<string> {
  if (options.workSpecName !== undefined) return options.workSpecName
  if (options.workSpec !== undefined) {
    const name = (await readSpecFile(options.workSpec)).name
    if (typeof name !== 'string' || name === '') throw new BadFileError(`${options.workSpec}: the work spec has no name`)
    return name
  }
  throw new UsageError('name a work spec with -W NAME or -w FILE')
}

/** Reads a YAML (or JSON) work spec file into a dict; a missing file is a usage error. */
export async function readSpecFile(path: string): Promise<DataDict> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UsageError(`work spec file ${path} does not exist`)
    throw new BadFileError(`cannot read work spec file ${path}: ${code ?? (error as Error).message}`)
  }
  try {
    const { parseConfig } = await import('../config.js')
    return parseConfig(text, path)
  } catch (error) {
    throw new BadFileError((error as Error).message)
  }
}

/** Parses a whole non-negative number option. */
export function count(what: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${what} must be a whole number.`)
    return Number(value)
  }
}

/** Parses a whole number option that may be negative. */
export function integer(what: string): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${what} must be a whole number.`)
    return Number(value)
  }
}

/** Parses a positive number of seconds (fractions allowed). */
export function positiveNumber(what: string): (value: string) => number {
  return (value) => {
    const parsed = Number(value)
    if (!(parsed > 0) || !Number.isFinite(parsed)) throw new InvalidArgumentError(`${what} must be a positive number of seconds.`)
    return parsed
  }
}
