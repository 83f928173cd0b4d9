// Original file: protos/relay.proto

import type { ForwardedHeartbeat as _edgexds_relay_v1_ForwardedHeartbeat, ForwardedHeartbeat__Output as _edgexds_relay_v1_ForwardedHeartbeat__Output } from '../../../edgexds/relay/v1/ForwardedHeartbeat';
import type { Long } from '@grpc/proto-loader';

export interface Forward {
  /**
   * Relay outbox sequence: strictly increasing within the relay's epoch; the global
   * tier skips any seq it already applied in that epoch.
   */
  'seq'?: (number | string | Long);
  /**
   * NodeRegistration JSON
   */
  'register_json'?: (string);
  'heartbeat'?: (_edgexds_relay_v1_ForwardedHeartbeat | null);
  'deregister_id'?: (string);
  'op'?: "register_json"|"heartbeat"|"deregister_id";
}

export interface Forward__Output {
  /**
   * Relay outbox sequence: strictly increasing within the relay's epoch; the global
   * tier skips any seq it already applied in that epoch.
   */
  'seq': (number);
  /**
   * NodeRegistration JSON
   */
  'register_json'?: (string);
  'heartbeat'?: (_edgexds_relay_v1_ForwardedHeartbeat__Output | null);
  'deregister_id'?: (string);
  'op'?: "register_json"|"heartbeat"|"deregister_id";
}
