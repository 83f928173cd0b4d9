// Original file: protos/relay.proto

import type { ViewState as _edgexds_relay_v1_ViewState, ViewState__Output as _edgexds_relay_v1_ViewState__Output } from '../../../edgexds/relay/v1/ViewState';

/**
 * Views the relay needs, with what it already has of each.
 */
export interface Watch {
  'views'?: (_edgexds_relay_v1_ViewState)[];
}

/**
 * Views the relay needs, with what it already has of each.
 */
export interface Watch__Output {
  'views': (_edgexds_relay_v1_ViewState__Output)[];
}
