import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Coordinate } from '../coordinate/api.js'
import type { Clock } from '../coordinate/clock.js'
import type { PathParams, Resolver } from './resolver.js'

/** What every group of routes is registered with. */
export interface RouteContext {
  app: FastifyInstance
  coordinate: Coordinate
  resolver: Resolver
  clock: Clock
  /** The server's version, shown at the root. */
  version: string
}

/** The request's path parameters (still encoded). */
export function paramsOf(request: FastifyRequest): PathParams {
  return request.params as PathParams
}

/** The request's query parameters. */
export function queryOf(request: FastifyRequest): Record<string, unknown> {
  return (request.query ?? {}) as Record<string, unknown>
}

/** Answers 201 with a Location header and a body. */
export function created(reply: FastifyReply, location: string, body: unknown): FastifyReply {
  return reply.code(201).header('Location', location).type(reply.request.responseType).send(body)
}

/** Answers 200 with a JSON body in the negotiated type. */
export function ok(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type(reply.request.responseType).send(body)
}

/** Answers 204. */
export function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send()
}
