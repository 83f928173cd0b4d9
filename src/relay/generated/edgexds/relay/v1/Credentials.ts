// Original file: protos/relay.proto


/**
 * Secure mode: what a relay needs to check credentials on its own, also while it is cut off
 * from the global tier: the API tokens (SHA-256 hashes, never the secrets) and the revocations.
 * Sent after hello and again whenever they change; the relay keeps the last one in its database.
 */
export interface Credentials {
  'snapshot_json'?: (string);
}

/**
 * Secure mode: what a relay needs to check credentials on its own, also while it is cut off
 * from the global tier: the API tokens (SHA-256 hashes, never the secrets) and the revocations.
 * Sent after hello and again whenever they change; the relay keeps the last one in its database.
 */
export interface Credentials__Output {
  'snapshot_json': (string);
}
