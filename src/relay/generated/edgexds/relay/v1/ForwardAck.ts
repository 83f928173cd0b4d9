// Original file: protos/relay.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Every forwarded op up to seq is durable on the global tier.
 */
export interface ForwardAck {
  'seq'?: (number | string | Long);
}

/**
 * Every forwarded op up to seq is durable on the global tier.
 */
export interface ForwardAck__Output {
  'seq': (number);
}
