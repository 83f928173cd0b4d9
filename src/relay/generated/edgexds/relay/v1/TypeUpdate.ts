// Original file: protos/relay.proto

import type { Resource as _edgexds_relay_v1_Resource, Resource__Output as _edgexds_relay_v1_Resource__Output } from '../../../edgexds/relay/v1/Resource';

export interface TypeUpdate {
  'kind'?: (string);
  'version'?: (string);
  'resources'?: (_edgexds_relay_v1_Resource)[];
  'removed'?: (string)[];
}

export interface TypeUpdate__Output {
  'kind': (string);
  'version': (string);
  'resources': (_edgexds_relay_v1_Resource__Output)[];
  'removed': (string)[];
}
