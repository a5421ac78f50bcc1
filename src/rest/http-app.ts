import cors from '@fastify/cors'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import Negotiator from 'negotiator'
import { type AccessOptions, hostChecker, tokenChecker } from './access-control.js'
import { type ErrorBody, HttpError, errorResponse } from './errors.js'

/** The JSON media types the API speaks; the first is what `*` and a missing Accept get. */
export const JSON_TYPES = [
  'application/vnd.diffeo.coordinate.v1+json',
  'application/vnd.diffeo.coordinate+json',
  'application/json',
  'text/json',
] as const

/** What a route answers with, for Accept negotiation. */
export type Produces = 'json' | 'event-stream' | 'metrics' | 'any'

/** Per-route settings read by the app's hooks. */
export interface RouteConfig {
  produces?: Produces
  /** Served without the bearer token (only /healthz). */
  public?: boolean
}

/** Options of the HTTP app shell (hooks, parsers, errors), before any route is added. */
export interface HttpAppOptions {
  /** The address the server binds, for the Host check (default 127.0.0.1). */
  boundHost?: string
  access?: AccessOptions
  /** Origins allowed to call from a browser; none (the default) sends no CORS headers. */
  corsOrigins?: readonly string[]
  /** Largest request body in bytes (default 4 MiB). */
  bodyLimit?: number
  /** Default: silent. */
  logger?: FastifyBaseLogger
  /** Called after every answer, for metrics. */
  onAnswered?: (method: string, route: string, statusCode: number, seconds: number) => void
}

/** The default request body limit: 4 MiB. */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024

declare module 'fastify' {
  interface FastifyRequest {
    /** The negotiated response media type. */
    responseType: string
  }
}

// Raw-path shapes refused before routing: dot segments (a proxy or client may have meant
// something else) and encoded separators, NUL or backslashes (which would change a name's
// meaning once decoded).
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)|(^|\/)%2e(%2e)?(\/|$)/i
const ENCODED_SEPARATOR = /%(2f|5c|00)/i

/** Builds the Fastify app with the API's cross-cutting rules; routes are added by the caller. */
export async function createHttpApp(options: HttpAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // Requests are counted in metrics; the log gets failures only.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    // Encoded names may be up to 2000 bytes (2668 base64 characters); the length check with a
    // clear message is in decodeName, so the router must not turn long names into 404s first.
    routerOptions: { maxParamLength: 16_384, caseSensitive: true },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  })
  app.decorateRequest('responseType', '')
  if (options.corsOrigins !== undefined && options.corsOrigins.length > 0) {
    await app.register(cors, { origin: [...options.corsOrigins], allowedHeaders: ['Authorization', 'Content-Type', 'Accept'] })
  }
  const checkHost = hostChecker(options.boundHost ?? '127.0.0.1', options.access?.allowedHosts)
  const checkToken = options.access?.token ? tokenChecker(options.access.token) : undefined
  app.addHook('onRequest', async (request) => {
    checkPath(request.raw.url ?? '/')
    checkHost(request.headers.host)
    const config = request.routeOptions.config as RouteConfig
    if (checkToken && !config.public) checkToken(request.headers.authorization)
    request.responseType = negotiate(request, config.produces ?? 'json')
  })
  addJsonParsers(app)
  app.setErrorHandler((error: FastifyError, request, reply) => sendError(app, error, request, reply))
  app.setNotFoundHandler((request) => {
    // Unknown routes still go through the host and token checks: no probing past them.
    checkHost(request.headers.host)
    if (checkToken) checkToken(request.headers.authorization)
    throw new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)
  })
  const started = new WeakMap<FastifyRequest, bigint>()
  if (options.onAnswered) {
    const onAnswered = options.onAnswered
    app.addHook('onRequest', async (request) => {
      started.set(request, process.hrtime.bigint())
    })
    app.addHook('onResponse', async (request, reply) => {
      const start = started.get(request)
      const seconds = start === undefined ? 0 : Number(process.hrtime.bigint() - start) / 1e9
      onAnswered(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, seconds)
    })
  }
  return app
}

function checkPath(url: string): void {
  const path = url.split('?', 1)[0] ?? ''
  if (DOT_SEGMENT.test(path)) throw new HttpError(400, 'BAD_REQUEST', 'paths with "." or ".." segments are refused')
  if (ENCODED_SEPARATOR.test(path)) throw new HttpError(400, 'BAD_REQUEST', 'paths with encoded "/", "\\" or NUL are refused; encode such names as "-" + base64url')
}

function negotiate(request: FastifyRequest, produces: Produces): string {
  if (produces === 'any') return 'application/json'
  const accept = request.headers.accept
  const negotiator = new Negotiator({ headers: { accept: accept === '' ? undefined : accept } })
  const offered = produces === 'json' ? [...JSON_TYPES] : produces === 'event-stream' ? ['text/event-stream'] : ['text/plain']
  const chosen = negotiator.mediaType(offered)
  if (chosen === undefined) {
    throw new HttpError(406, 'NOT_ACCEPTABLE', `this resource is available as ${offered.join(', ')}; Accept: ${accept} allows none of them`)
  }
  return chosen
}

// Every JSON type gets the same parser; Fastify answers 415 for any other Content-Type.
function addJsonParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser([...JSON_TYPES], { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') {
      done(null, undefined)
      return
    }
    try {
      done(null, JSON.parse(text))
    } catch (error) {
      done(new HttpError(400, 'BAD_REQUEST', `malformed JSON body: ${error instanceof Error ? error.message : String(error)}`), undefined)
    }
  })
}

const FASTIFY_ERRORS: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BAD_REQUEST'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'BAD_REQUEST'],
  FST_ERR_BAD_URL: [400, 'BAD_REQUEST'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'BAD_REQUEST'],
}

/** Answers an error with the API's error body; 500s are logged with their stack, never sent. */
function sendError(app: FastifyInstance, error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  let statusCode: number
  let body: ErrorBody
  const known = FASTIFY_ERRORS[error.code]
  if (error.validation) {
    statusCode = 400
    body = { error: 'INVALID_INPUT', message: `${error.validationContext ?? 'request'}${error.validation[0]?.instancePath ?? ''} ${error.validation[0]?.message ?? 'is invalid'}` }
  } else if (known !== undefined) {
    ;[statusCode, body] = [known[0], { error: known[1], message: fastifyMessage(error) }]
  } else {
    ;({ statusCode, body } = errorResponse(error))
  }
  if (statusCode >= 500 && body.error === 'INTERNAL') app.log.error({ err: error, method: request.method, url: request.url }, 'request failed')
  if (statusCode === 401) void reply.header('WWW-Authenticate', 'Bearer')
  const type = request.responseType || 'application/json'
  void reply.code(statusCode).type(type.includes('json') ? type : 'application/json').send(body)
}

function fastifyMessage(error: FastifyError): string {
  // Fastify's messages are fine for clients but some end with internal detail after ':'.
  return error.message.replace(/^FST_\w+:\s*/, '')
}
