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
  /**
   * The relay's incarnation: sequence numbers are scoped to it. A new epoch is
   * chosen at every relay start (and when the global tier's position is ahead of
   * the relay's own), so a restored or re-created relay database never reuses
   * numbers the global tier already applied. Empty: an older relay, one position per relay id.
   */
  'epoch'?: (string);
  /**
   * The highest sequence number the relay has assigned in this epoch.
   */
  'high_water'?: (number | string | Long);
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
  /**
   * The relay's incarnation: sequence numbers are scoped to it. A new epoch is
   * chosen at every relay start (and when the global tier's position is ahead of
   * the relay's own), so a restored or re-created relay database never reuses
   * numbers the global tier already applied. Empty: an older relay, one position per relay id.
   */
  'epoch': (string);
  /**
   * The highest sequence number the relay has assigned in this epoch.
   */
  'high_water': (number);
}
