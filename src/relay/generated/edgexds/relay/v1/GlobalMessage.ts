// Original file: protos/relay.proto

import type { ViewUpdate as _edgexds_relay_v1_ViewUpdate, ViewUpdate__Output as _edgexds_relay_v1_ViewUpdate__Output } from '../../../edgexds/relay/v1/ViewUpdate';
import type { ForwardAck as _edgexds_relay_v1_ForwardAck, ForwardAck__Output as _edgexds_relay_v1_ForwardAck__Output } from '../../../edgexds/relay/v1/ForwardAck';
import type { Applied as _edgexds_relay_v1_Applied, Applied__Output as _edgexds_relay_v1_Applied__Output } from '../../../edgexds/relay/v1/Applied';
import type { Nodes as _edgexds_relay_v1_Nodes, Nodes__Output as _edgexds_relay_v1_Nodes__Output } from '../../../edgexds/relay/v1/Nodes';
import type { WatchError as _edgexds_relay_v1_WatchError, WatchError__Output as _edgexds_relay_v1_WatchError__Output } from '../../../edgexds/relay/v1/WatchError';
import type { Credentials as _edgexds_relay_v1_Credentials, Credentials__Output as _edgexds_relay_v1_Credentials__Output } from '../../../edgexds/relay/v1/Credentials';

export interface GlobalMessage {
  'view'?: (_edgexds_relay_v1_ViewUpdate | null);
  'forward_ack'?: (_edgexds_relay_v1_ForwardAck | null);
  'applied'?: (_edgexds_relay_v1_Applied | null);
  'nodes'?: (_edgexds_relay_v1_Nodes | null);
  'watch_error'?: (_edgexds_relay_v1_WatchError | null);
  'credentials'?: (_edgexds_relay_v1_Credentials | null);
  'msg'?: "view"|"forward_ack"|"applied"|"nodes"|"watch_error"|"credentials";
}

export interface GlobalMessage__Output {
  'view'?: (_edgexds_relay_v1_ViewUpdate__Output | null);
  'forward_ack'?: (_edgexds_relay_v1_ForwardAck__Output | null);
  'applied'?: (_edgexds_relay_v1_Applied__Output | null);
  'nodes'?: (_edgexds_relay_v1_Nodes__Output | null);
  'watch_error'?: (_edgexds_relay_v1_WatchError__Output | null);
  'credentials'?: (_edgexds_relay_v1_Credentials__Output | null);
  'msg'?: "view"|"forward_ack"|"applied"|"nodes"|"watch_error"|"credentials";
}
