export { SERVE_OPTIONS, OptionError, resolveOptions, resolveServerOptions, defaultServerOptions, checkRoleOptions } from './options';
export type { ServerOptions, OptionSpec, ValueSource, RawValue } from './options';
export {
  parseDuration,
  parsePort,
  parseIntIn,
  parseFloatIn,
  parseLogLevel,
  parseHost,
  parseNonEmpty,
  parseLocation,
  parseHostPortList,
  parseIpLiteral,
  parseDnsLabel,
  parseByteSize,
  LOG_LEVELS,
} from './parse';
