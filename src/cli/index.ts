export { buildProgram, main, SHUTDOWN_TIMEOUT_MS } from './commands';
