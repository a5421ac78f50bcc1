import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { type DataDict, describe, isDataDict } from '../../coordinate/data.js'
import { MAX_KEY_BYTES } from '../../postgres/work-unit-key.js'
import type { NewUnit } from '../client/operations.js'
import { UsageError } from '../usage-error.js'

/** A line of a work unit file that cannot be loaded; `line` counts from 1. */
export class BadLineError extends Error {
  override name = 'BadLineError'
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${source}:${line}: ${reason}`)
  }
}

/**
 * Parses one line of a work unit file: a JSON object mapping each key to its data object
 * (usually one key per line). Blank lines and lines starting with `#` hold no units (null).
 * Throws an Error saying what is wrong with the line.
 */
export function parseUnitLine(text: string): NewUnit[] | null {
  const trimmed = text.trim()
  if (trimmed === '' || trimmed.startsWith('#')) return null
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch (error) {
    throw new Error(`not valid JSON: ${(error as Error).message}`)
  }
  if (!isDataDict(value)) throw new Error(`expected an object {"key": {data}}, not ${describe(value)}`)
  const units: NewUnit[] = []
  for (const [key, data] of Object.entries(value)) {
    if (!isDataDict(data)) throw new Error(`the data of ${JSON.stringify(key)} must be an object, not ${describe(data)}`)
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new Error(`the key ${JSON.stringify(key.slice(0, 40))}… is longer than ${MAX_KEY_BYTES} bytes`)
    units.push({ key, data: data as DataDict })
  }
  return units
}

/** A work unit file on disk, read as many times as needed; `.gz` files are decompressed. */
export interface UnitFile {
  /** The name to put in messages (`-` for stdin). */
  readonly source: string
  readonly path: string
  /** Size on disk, for the progress estimate. */
  readonly bytes: number
  /** Deletes the spooled copy of stdin; nothing for a real file. */
  dispose(): Promise<void>
}

/**
 * Opens the file named by -u. Standard input (`-`) is copied to a temporary file first, so
 * that it can be checked completely before anything is loaded and then read again to load it.
 */
export async function openUnitFile(path: string, stdin: Readable): Promise<UnitFile> {
  if (path === '-') {
    const dir = await mkdtemp(join(tmpdir(), 'coordinate-load-'))
    const spooled = join(dir, 'stdin.jsonl')
    await pipeline(stdin, createWriteStream(spooled))
    return { source: '<stdin>', path: spooled, bytes: (await stat(spooled)).size, dispose: () => rm(dir, { recursive: true, force: true }) }
  }
  let size: number
  try {
    const info = await stat(path)
    if (!info.isFile()) throw new UsageError(`work unit file ${path} is not a file`)
    size = info.size
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`work unit file ${path} does not exist`)
    throw error
  }
  return { source: path, path, bytes: size, dispose: async () => undefined }
}

/** The file's lines with their numbers, streamed (never the whole file in memory). */
export async function* fileLines(file: UnitFile): AsyncGenerator<{ number: number; text: string }> {
  const raw = createReadStream(file.path)
  const input = file.path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
  let number = 0
  try {
    for await (const text of lines) yield { number: ++number, text }
  } finally {
    lines.close()
    raw.destroy()
  }
}

/** What checking a whole file found. */
export interface FileCheck {
  units: number
  lines: number
  /** Bad lines in file order (all of them with keepGoing, else only the first). */
  bad: BadLineError[]
}

/** Reads the whole file and checks every line; stops at the first bad line unless `keepGoing`. */
export async function checkUnitFile(file: UnitFile, keepGoing: boolean): Promise<FileCheck> {
  const check: FileCheck = { units: 0, lines: 0, bad: [] }
  for await (const { number, text } of fileLines(file)) {
    check.lines = number
    try {
      check.units += parseUnitLine(text)?.length ?? 0
    } catch (error) {
      check.bad.push(new BadLineError(file.source, number, (error as Error).message))
      if (!keepGoing) break
    }
  }
  return check
}
