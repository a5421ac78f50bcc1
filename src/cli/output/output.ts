import type { Writable } from 'node:stream'
import pc from 'picocolors'
import type { JsonValue } from './json-value.js'

/** How a listing is printed: for people, as one JSON document, or as one JSON value per line. */
export type Format = 'text' | 'json' | 'jsonl'

/** Terminal styles; all identity when color is off. */
export type Colors = ReturnType<typeof pc.createColors>

/** Color only for a terminal, and never when NO_COLOR is set (to anything but the empty string). */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb'
}

/** Where a command writes: stdout for results (with backpressure), stderr for messages. */
export class Output {
  readonly colors: Colors

  constructor(
    readonly stdout: Writable & { isTTY?: boolean },
    readonly stderr: Writable & { isTTY?: boolean },
    readonly color: boolean,
  ) {
    this.colors = pc.createColors(color)
  }

  /** Writes to stdout, waiting while the reader is slower than we are (a pager, a pipe). */
  async write(text: string): Promise<void> {
    if (!this.stdout.write(text)) await new Promise<void>((resolve) => this.stdout.once('drain', resolve))
  }

  /** Writes a message line to stderr. */
  note(text: string): void {
    this.stderr.write(`${text}\n`)
  }

  /** A writer for a listing whose items arrive page by page. */
  list(format: Exclude<Format, 'text'>): ListWriter {
    return new ListWriter(this, format)
  }
}

/** Streams JSON items: one array for json (opened at the first item), one line each for jsonl. */
export class ListWriter {
  #count = 0

  constructor(
    readonly output: Output,
    readonly format: Exclude<Format, 'text'>,
  ) {}

  /** Writes one item. */
  async item(value: JsonValue): Promise<void> {
    const json = JSON.stringify(value)
    if (this.format === 'jsonl') await this.output.write(`${json}\n`)
    else await this.output.write(`${this.#count === 0 ? '[\n' : ',\n'}${json}`)
    this.#count++
  }

  /** Closes the array (an empty one if nothing came). */
  async end(): Promise<void> {
    if (this.format === 'json') await this.output.write(this.#count === 0 ? '[]\n' : '\n]\n')
  }
}

/** The format the --json/--jsonl flags ask for; both at once is a usage error the caller reports. */
export function formatOf(options: { json?: boolean; jsonl?: boolean }): Format {
  return options.jsonl ? 'jsonl' : options.json ? 'json' : 'text'
}
