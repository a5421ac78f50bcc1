import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { type DataDict, assertDataDict } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'

/**
 * Reads the daemon's `--config` YAML into the dict that get_config returns. An empty file is an
 * empty dict; anything but a mapping at the top is refused, because clients index into it.
 */
export async function loadConfigFile(path: string): Promise<DataDict> {
  const text = await readFile(path, 'utf8')
  return parseConfig(text, path)
}

/** Parses config YAML text; `source` names it in error messages. */
export function parseConfig(text: string, source = 'config'): DataDict {
  let value: unknown
  try {
    // YAML 1.2 core schema: no timestamps or other types that CBOR-RPC cannot send.
    value = parse(text, { schema: 'core', merge: true })
  } catch (error) {
    throw new InvalidInputError(`${source}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (value === null || value === undefined) return {}
  assertDataDict(value, source)
  return value
}
