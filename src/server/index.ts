export { startServer } from './server';
export type { RunningServer, StartServerExtras } from './server';
export { HealthOnlyXdsComponent, healthOnlyXds } from './xds-component';
export type { XdsComponent, XdsComponentDeps, XdsComponentFactory } from './xds-component';
