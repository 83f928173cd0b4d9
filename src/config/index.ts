export { SERVE_OPTIONS, OptionError, resolveOptions, resolveServerOptions, defaultServerOptions } from './options';
export type { ServerOptions, OptionSpec, ValueSource, RawValue } from './options';
export { parseDuration, parsePort, parseIntIn, parseFloatIn, parseLogLevel, parseHost, parseNonEmpty, LOG_LEVELS } from './parse';
