export { startServer } from './server';
export type { RunningServer, StartServerExtras } from './server';
export { XdsMeshAdmin } from './mesh-admin';
