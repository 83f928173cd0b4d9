// Original file: protos/relay.proto

import type { TypeUpdate as _edgexds_relay_v1_TypeUpdate, TypeUpdate__Output as _edgexds_relay_v1_TypeUpdate__Output } from '../../../edgexds/relay/v1/TypeUpdate';

/**
 * What changed in one view: per type, the type version, changed resources and removed names.
 */
export interface ViewUpdate {
  'view'?: (string);
  'types'?: (_edgexds_relay_v1_TypeUpdate)[];
}

/**
 * What changed in one view: per type, the type version, changed resources and removed names.
 */
export interface ViewUpdate__Output {
  'view': (string);
  'types': (_edgexds_relay_v1_TypeUpdate__Output)[];
}
