export { createLogger, silentLogger } from './logger';
export type { Logger, LogLevel } from './logger';
export { Metrics } from './metrics';
