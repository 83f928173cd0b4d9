// Original file: protos/relay.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GlobalMessage as _edgexds_relay_v1_GlobalMessage, GlobalMessage__Output as _edgexds_relay_v1_GlobalMessage__Output } from '../../../edgexds/relay/v1/GlobalMessage';
import type { RelayMessage as _edgexds_relay_v1_RelayMessage, RelayMessage__Output as _edgexds_relay_v1_RelayMessage__Output } from '../../../edgexds/relay/v1/RelayMessage';

export interface RelaySyncClient extends grpc.Client {
  Sync(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_edgexds_relay_v1_RelayMessage, _edgexds_relay_v1_GlobalMessage__Output>;
  Sync(options?: grpc.CallOptions): grpc.ClientDuplexStream<_edgexds_relay_v1_RelayMessage, _edgexds_relay_v1_GlobalMessage__Output>;
  sync(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_edgexds_relay_v1_RelayMessage, _edgexds_relay_v1_GlobalMessage__Output>;
  sync(options?: grpc.CallOptions): grpc.ClientDuplexStream<_edgexds_relay_v1_RelayMessage, _edgexds_relay_v1_GlobalMessage__Output>;
  
}

export interface RelaySyncHandlers extends grpc.UntypedServiceImplementation {
  Sync: grpc.handleBidiStreamingCall<_edgexds_relay_v1_RelayMessage__Output, _edgexds_relay_v1_GlobalMessage>;
  
}

export interface RelaySyncDefinition extends grpc.ServiceDefinition {
  Sync: MethodDefinition<_edgexds_relay_v1_RelayMessage, _edgexds_relay_v1_GlobalMessage, _edgexds_relay_v1_RelayMessage__Output, _edgexds_relay_v1_GlobalMessage__Output>
}
