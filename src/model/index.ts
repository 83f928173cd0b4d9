/** The model: pure geography, priorities, weights and hysteresis (no I/O but reading a config file). */
export type { ClientKind, EndpointAssignment, EndpointHealth, Locality, Requester, ServiceSpec, WeightFactors } from './types';
export { EARTH_RADIUS_KM, haversineKm, isValidLocation, resolveRequester, sphericalCentroid } from './geo';
export type { RequesterInput } from './geo';
export { DEFAULT_WEIGHTS_CONFIG, loadWeightsConfigFile, parseWeightsConfig } from './config';
export type { LoadCombine, Strategy, WeightsConfig, WeightsConfigResult } from './config';
export { capacityOf, combineLoad, loadsOf, networkFactor, networkStatsOf } from './factors';
export type { NodeLoads } from './factors';
export { quantizeWeights, sharesPct, UINT32_MAX } from './quantize';
export { computeAssignment, healthOf } from './assignment';
export type { AssignmentParams } from './assignment';
export { stabilize, structureChanged } from './hysteresis';
export { explainTable, formatExplainTable } from './explain';
export type { ExplainRow } from './explain';
