// Original file: protos/relay.proto

import type { ResourceVersion as _edgexds_relay_v1_ResourceVersion, ResourceVersion__Output as _edgexds_relay_v1_ResourceVersion__Output } from '../../../edgexds/relay/v1/ResourceVersion';

export interface ViewState {
  'view'?: (string);
  /**
   * Resources the relay holds for this view: only what differs is sent.
   */
  'have'?: (_edgexds_relay_v1_ResourceVersion)[];
}

export interface ViewState__Output {
  'view': (string);
  /**
   * Resources the relay holds for this view: only what differs is sent.
   */
  'have': (_edgexds_relay_v1_ResourceVersion__Output)[];
}
