// Original file: protos/relay.proto

import type { Long } from '@grpc/proto-loader';

export interface ForwardedHeartbeat {
  'node_id'?: (string);
  /**
   * HeartbeatInput JSON
   */
  'input_json'?: (string);
  'received_at_ms'?: (number | string | Long);
}

export interface ForwardedHeartbeat__Output {
  'node_id': (string);
  /**
   * HeartbeatInput JSON
   */
  'input_json': (string);
  'received_at_ms': (number);
}
