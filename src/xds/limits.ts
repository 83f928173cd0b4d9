/**
 * Bounds on what a client of the xDS port can make the server hold: request
 * size, streams per HTTP/2 connection and per node id, and the few Node
 * fields a stream keeps (bounded copies; see proxy.ts).
 *
 * Request size. The largest request we promise to take is a subscription to
 * 10,000 resource names of 100 bytes:
 *   - SotW (DiscoveryRequest): 10,000 x (100 + 2 tag/length) = 1.02 MB, plus
 *     the node Envoy sends with every request by default (its extension list
 *     makes it 30-60 kB) = ~1.1 MB;
 *   - delta on reconnect (DeltaDiscoveryRequest): the names once in
 *     resource_names_subscribe (102 B each) and again in
 *     initial_resource_versions (2 + 102 + 18 for a 16-character version:
 *     122 B each) = 2.24 MB, plus the node = ~2.3 MB.
 * 1 MiB would refuse the first and 2 MiB the second, so xDS requests are
 * capped at 3 MiB (~30% over the delta worst case). The gRPC transport limit
 * of the port stays at 4 MiB because the relay sync service shares it (a
 * relay's Watch after a reconnect lists every resource of every view it
 * holds); xDS methods apply their own, lower cap before decoding.
 *
 * Streams per connection. Envoy and gRPC open one ADS stream per connection
 * (Envoy without ADS: one per type, so 4); a relay opens one sync stream.
 * The fleet simulator (test/bench) multiplexes up to 250 proxies on one
 * connection, and so would an HTTP/2 proxy put in front of the control
 * plane. 256 xDS streams per connection keeps both working; the HTTP/2
 * SETTINGS limit is a little higher so that the extra stream reaches the
 * server and is refused with a status (a compliant client would otherwise
 * queue it silently), with room for health checks and the relay stream.
 *
 * Streams per node id. One proxy needs 1 (ADS) to 4 (one per type), plus
 * streams of a previous connection the server has not yet seen die (keepalive
 * detects a dead peer within 40 s), plus a few replicas started from one
 * bootstrap: 16.
 */
export const XDS_LIMITS = {
  /** Largest xDS request (SotW or delta) decoded; larger ones end the stream with RESOURCE_EXHAUSTED. */
  maxRequestBytes: 3 * 1024 * 1024,
  /** grpc.max_receive_message_length of the whole port (relay sync messages included). */
  transportMaxReceiveBytes: 4 * 1024 * 1024,
  /** Concurrent xDS streams on one HTTP/2 connection. */
  maxStreamsPerConnection: 256,
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS above maxStreamsPerConnection (health checks, relay sync, refusals in flight). */
  transportStreamsHeadroom: 16,
  /** Concurrent xDS streams claiming one node id. */
  maxStreamsPerNode: 16,
  /** node.id longer than this is refused (cutting it would merge identities). */
  maxNodeIdChars: 1024,
  /** node.cluster, user_agent_name and locality fields are cut to this. */
  maxNodeStringChars: 256,
  /** client_features kept (each cut to maxNodeStringChars / 2). */
  maxClientFeatures: 32,
  /** A metadata value the server reads (lat, lon, location as text) longer than this is dropped. */
  maxMetadataValueChars: 64,
  /** NACK messages (error_detail.message) are kept and logged cut to this. */
  maxErrorDetailChars: 2048,
  /** A version_info a client sends is kept cut to this (ours are 16 characters). */
  maxVersionChars: 256,
} as const;

/** The limits a server can be given (tests, embedding); the rest are fixed. */
export interface XdsServerLimits {
  maxRequestBytes: number;
  maxStreamsPerConnection: number;
  maxStreamsPerNode: number;
}
