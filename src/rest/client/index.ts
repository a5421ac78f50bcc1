export { RestCoordinate, restCoordinate } from './rest-coordinate.js'
export { type RestClientOptions, TransportError } from './transport.js'
