import type { Coordinate, Namespace, SummaryRecord } from '../../coordinate/api.js'
import type { ChangeFeed } from '../../coordinate/change-feed.js'
import { InvalidInputError } from '../../coordinate/errors.js'
import { urls } from '../urls.js'
import { RestChangeFeed } from './change-stream.js'
import { obj, summaryFromJson } from './json-in.js'
import { RestNamespace } from './rest-namespace.js'
import { type RestClientOptions, RestTransport } from './transport.js'

/**
 * The Coordinate API over a coordinated daemon's REST API: no database credentials needed,
 * only the URL (and the token, if the daemon has one). Objects are addressed by name, as in
 * go-coordinate's REST client.
 */
export class RestCoordinate implements Coordinate {
  /** @internal The HTTP transport every object of this Coordinate uses. */
  readonly transport: RestTransport
  readonly #feeds = new Set<RestChangeFeed>()

  constructor(baseUrl: string, options: RestClientOptions = {}) {
    this.transport = new RestTransport(baseUrl, options)
  }

  /** Gets the namespace with this name, creating it if needed. */
  async namespace(name: string): Promise<Namespace> {
    if (typeof name !== 'string') throw new InvalidInputError('a namespace name must be a string')
    const answer = obj(await this.transport.call('POST', urls.namespaces(), { body: { name } }))
    return new RestNamespace(this, String(answer.name))
  }

  /** Every namespace, sorted by name. */
  async namespaces(): Promise<Namespace[]> {
    const answer = obj(await this.transport.call('GET', urls.namespaces()))
    return (answer.namespaces as { name: string }[]).map((ns) => new RestNamespace(this, ns.name))
  }

  /** Unit counts of every namespace. */
  async summarize(): Promise<SummaryRecord[]> {
    return summaryFromJson(await this.transport.call('GET', '/summary'))
  }

  /**
   * The server's change events as a ChangeFeed (server-sent events from /events), for
   * `cacheCoordinate(rest, { changes: rest.changes() })`. After every reconnection it emits a
   * resync event, since events sent meanwhile are lost.
   */
  changes(options: { namespaces?: readonly string[] } = {}): ChangeFeed & { ready(): Promise<void>; close(): Promise<void> } {
    const feed = new RestChangeFeed(this.transport, options.namespaces, () => this.#feeds.delete(feed))
    this.#feeds.add(feed)
    return feed
  }

  /** Closes the connections and event streams; later calls throw ClosedError. */
  async close(): Promise<void> {
    await Promise.all([...this.#feeds].map((feed) => feed.close()))
    await this.transport.close()
  }
}

/**
 * Opens a Coordinate on a coordinated daemon's REST API.
 *
 * @example
 * const coordinate = restCoordinate('http://127.0.0.1:5980', { token: process.env.COORDINATE_HTTP_TOKEN })
 * const spec = await (await coordinate.namespace('')).workSpec('crawl')
 */
export function restCoordinate(baseUrl: string, options: RestClientOptions = {}): RestCoordinate {
  return new RestCoordinate(baseUrl, options)
}
