import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Applied as _edgexds_relay_v1_Applied, Applied__Output as _edgexds_relay_v1_Applied__Output } from './edgexds/relay/v1/Applied';
import type { Credentials as _edgexds_relay_v1_Credentials, Credentials__Output as _edgexds_relay_v1_Credentials__Output } from './edgexds/relay/v1/Credentials';
import type { Forward as _edgexds_relay_v1_Forward, Forward__Output as _edgexds_relay_v1_Forward__Output } from './edgexds/relay/v1/Forward';
import type { ForwardAck as _edgexds_relay_v1_ForwardAck, ForwardAck__Output as _edgexds_relay_v1_ForwardAck__Output } from './edgexds/relay/v1/ForwardAck';
import type { ForwardedHeartbeat as _edgexds_relay_v1_ForwardedHeartbeat, ForwardedHeartbeat__Output as _edgexds_relay_v1_ForwardedHeartbeat__Output } from './edgexds/relay/v1/ForwardedHeartbeat';
import type { GlobalMessage as _edgexds_relay_v1_GlobalMessage, GlobalMessage__Output as _edgexds_relay_v1_GlobalMessage__Output } from './edgexds/relay/v1/GlobalMessage';
import type { Hello as _edgexds_relay_v1_Hello, Hello__Output as _edgexds_relay_v1_Hello__Output } from './edgexds/relay/v1/Hello';
import type { Nodes as _edgexds_relay_v1_Nodes, Nodes__Output as _edgexds_relay_v1_Nodes__Output } from './edgexds/relay/v1/Nodes';
import type { RelayHeartbeat as _edgexds_relay_v1_RelayHeartbeat, RelayHeartbeat__Output as _edgexds_relay_v1_RelayHeartbeat__Output } from './edgexds/relay/v1/RelayHeartbeat';
import type { RelayMessage as _edgexds_relay_v1_RelayMessage, RelayMessage__Output as _edgexds_relay_v1_RelayMessage__Output } from './edgexds/relay/v1/RelayMessage';
import type { RelaySyncClient as _edgexds_relay_v1_RelaySyncClient, RelaySyncDefinition as _edgexds_relay_v1_RelaySyncDefinition } from './edgexds/relay/v1/RelaySync';
import type { Resource as _edgexds_relay_v1_Resource, Resource__Output as _edgexds_relay_v1_Resource__Output } from './edgexds/relay/v1/Resource';
import type { ResourceVersion as _edgexds_relay_v1_ResourceVersion, ResourceVersion__Output as _edgexds_relay_v1_ResourceVersion__Output } from './edgexds/relay/v1/ResourceVersion';
import type { TypeUpdate as _edgexds_relay_v1_TypeUpdate, TypeUpdate__Output as _edgexds_relay_v1_TypeUpdate__Output } from './edgexds/relay/v1/TypeUpdate';
import type { Unwatch as _edgexds_relay_v1_Unwatch, Unwatch__Output as _edgexds_relay_v1_Unwatch__Output } from './edgexds/relay/v1/Unwatch';
import type { ViewState as _edgexds_relay_v1_ViewState, ViewState__Output as _edgexds_relay_v1_ViewState__Output } from './edgexds/relay/v1/ViewState';
import type { ViewUpdate as _edgexds_relay_v1_ViewUpdate, ViewUpdate__Output as _edgexds_relay_v1_ViewUpdate__Output } from './edgexds/relay/v1/ViewUpdate';
import type { Watch as _edgexds_relay_v1_Watch, Watch__Output as _edgexds_relay_v1_Watch__Output } from './edgexds/relay/v1/Watch';
import type { WatchError as _edgexds_relay_v1_WatchError, WatchError__Output as _edgexds_relay_v1_WatchError__Output } from './edgexds/relay/v1/WatchError';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  edgexds: {
    relay: {
      v1: {
        Applied: MessageTypeDefinition<_edgexds_relay_v1_Applied, _edgexds_relay_v1_Applied__Output>
        Credentials: MessageTypeDefinition<_edgexds_relay_v1_Credentials, _edgexds_relay_v1_Credentials__Output>
        Forward: MessageTypeDefinition<_edgexds_relay_v1_Forward, _edgexds_relay_v1_Forward__Output>
        ForwardAck: MessageTypeDefinition<_edgexds_relay_v1_ForwardAck, _edgexds_relay_v1_ForwardAck__Output>
        ForwardedHeartbeat: MessageTypeDefinition<_edgexds_relay_v1_ForwardedHeartbeat, _edgexds_relay_v1_ForwardedHeartbeat__Output>
        GlobalMessage: MessageTypeDefinition<_edgexds_relay_v1_GlobalMessage, _edgexds_relay_v1_GlobalMessage__Output>
        Hello: MessageTypeDefinition<_edgexds_relay_v1_Hello, _edgexds_relay_v1_Hello__Output>
        Nodes: MessageTypeDefinition<_edgexds_relay_v1_Nodes, _edgexds_relay_v1_Nodes__Output>
        RelayHeartbeat: MessageTypeDefinition<_edgexds_relay_v1_RelayHeartbeat, _edgexds_relay_v1_RelayHeartbeat__Output>
        RelayMessage: MessageTypeDefinition<_edgexds_relay_v1_RelayMessage, _edgexds_relay_v1_RelayMessage__Output>
        RelaySync: SubtypeConstructor<typeof grpc.Client, _edgexds_relay_v1_RelaySyncClient> & { service: _edgexds_relay_v1_RelaySyncDefinition }
        Resource: MessageTypeDefinition<_edgexds_relay_v1_Resource, _edgexds_relay_v1_Resource__Output>
        ResourceVersion: MessageTypeDefinition<_edgexds_relay_v1_ResourceVersion, _edgexds_relay_v1_ResourceVersion__Output>
        TypeUpdate: MessageTypeDefinition<_edgexds_relay_v1_TypeUpdate, _edgexds_relay_v1_TypeUpdate__Output>
        Unwatch: MessageTypeDefinition<_edgexds_relay_v1_Unwatch, _edgexds_relay_v1_Unwatch__Output>
        ViewState: MessageTypeDefinition<_edgexds_relay_v1_ViewState, _edgexds_relay_v1_ViewState__Output>
        ViewUpdate: MessageTypeDefinition<_edgexds_relay_v1_ViewUpdate, _edgexds_relay_v1_ViewUpdate__Output>
        Watch: MessageTypeDefinition<_edgexds_relay_v1_Watch, _edgexds_relay_v1_Watch__Output>
        WatchError: MessageTypeDefinition<_edgexds_relay_v1_WatchError, _edgexds_relay_v1_WatchError__Output>
      }
    }
  }
}

