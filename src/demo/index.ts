/** Demo data plane: echo backends, load generators (in-process and as child processes). */
export { startEchoBackend, defaultAdvertiseAddress } from './backend';
export type { EchoBackend, EchoBackendOptions, EchoBackendRegistryOptions } from './backend';
export { RegistryClient, AllUrlsFailedError } from './registry-client';
export type { Load, NetworkStats, NodeRegistration, RegistryClientOptions, RegistryStats } from './registry-client';
export { Loadgen, formatRecord } from './loadgen';
export type { LoadgenOptions, LoadgenRecord, WindowRecord, PhaseRecord, SummaryRecord, ReadyRecord, StartRecord } from './loadgen';
export { spawnLoadgen, LOADGEN_MAIN } from './loadgen-process';
export type { SpawnLoadgenOptions, LoadgenHandle, Mark } from './loadgen-process';
export { loadEcho, echoProtoPath, ECHO_PACKAGE, ECHO_SERVICE } from './proto';
export type { EchoClient, EchoReply, EchoRequest } from './proto';
export { startBackendAdmin } from './admin';
export { silentDemoLogger, stderrLogger } from './log';
export type { DemoLogger } from './log';
export { percentile, Tally } from './stats';
