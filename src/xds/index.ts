/** xDS: Envoy protos, resource builders, snapshots, and the SotW/delta servers. */
export { XdsComponent } from './component';
export type { XdsComponentOptions } from './component';
export { MeshSource } from './mesh-source';
export { locationFromMetadata, parseViewKey, viewKey } from './views';
export type { MeshSourceOptions } from './mesh-source';
export { XdsServer } from './server';
export type { XdsServerOptions } from './server';
export type { SnapshotSource } from './source';
export type { ProxyIdentity, ViewKey } from './proxy';
export { proxyIdentity, clientKindOf } from './proxy';
export type { StreamInfo, TypeStatus, AckState } from './stream-common';
export { resourceSet, emptySnapshot, changedNames, snapshotProblems } from './snapshot';
export type { ResourceSet, Snapshot } from './snapshot';
export { encodedResource, contentHash } from './resource';
export type { EncodedResource } from './resource';
export { TYPE_URL, RESOURCE_KINDS, kindOfTypeUrl, envoyRoot, envoyType, envoyIncludeDirs, xdsPackageDefinition } from './protos';
export type { ResourceKind, TypeUrl } from './protos';
export { configDump } from './dump';
