export { DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_BYTES, type ScanLimits } from './cbor-scan.js'
export {
  ENVELOPE_TAG,
  type DecodeOptions,
  type RpcRequest,
  type RpcResponse,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from './codec.js'
export * from './errors.js'
export { Framer } from './framer.js'
export * from './server.js'
