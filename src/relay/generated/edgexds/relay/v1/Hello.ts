// Original file: protos/relay.proto

import type { Long } from '@grpc/proto-loader';

export interface Hello {
  /**
   * The relay's own registration (NodeRegistration JSON, role "relay").
   */
  'registration_json'?: (string);
  /**
   * Outbox sequence numbers up to this one were acknowledged before (informational).
   */
  'acked_seq'?: (number | string | Long);
}

export interface Hello__Output {
  /**
   * The relay's own registration (NodeRegistration JSON, role "relay").
   */
  'registration_json': (string);
  /**
   * Outbox sequence numbers up to this one were acknowledged before (informational).
   */
  'acked_seq': (number);
}
