// Original file: protos/relay.proto

import type { Hello as _edgexds_relay_v1_Hello, Hello__Output as _edgexds_relay_v1_Hello__Output } from '../../../edgexds/relay/v1/Hello';
import type { Watch as _edgexds_relay_v1_Watch, Watch__Output as _edgexds_relay_v1_Watch__Output } from '../../../edgexds/relay/v1/Watch';
import type { Unwatch as _edgexds_relay_v1_Unwatch, Unwatch__Output as _edgexds_relay_v1_Unwatch__Output } from '../../../edgexds/relay/v1/Unwatch';
import type { Forward as _edgexds_relay_v1_Forward, Forward__Output as _edgexds_relay_v1_Forward__Output } from '../../../edgexds/relay/v1/Forward';
import type { RelayHeartbeat as _edgexds_relay_v1_RelayHeartbeat, RelayHeartbeat__Output as _edgexds_relay_v1_RelayHeartbeat__Output } from '../../../edgexds/relay/v1/RelayHeartbeat';

export interface RelayMessage {
  'hello'?: (_edgexds_relay_v1_Hello | null);
  'watch'?: (_edgexds_relay_v1_Watch | null);
  'unwatch'?: (_edgexds_relay_v1_Unwatch | null);
  'forward'?: (_edgexds_relay_v1_Forward | null);
  'heartbeat'?: (_edgexds_relay_v1_RelayHeartbeat | null);
  'msg'?: "hello"|"watch"|"unwatch"|"forward"|"heartbeat";
}

export interface RelayMessage__Output {
  'hello'?: (_edgexds_relay_v1_Hello__Output | null);
  'watch'?: (_edgexds_relay_v1_Watch__Output | null);
  'unwatch'?: (_edgexds_relay_v1_Unwatch__Output | null);
  'forward'?: (_edgexds_relay_v1_Forward__Output | null);
  'heartbeat'?: (_edgexds_relay_v1_RelayHeartbeat__Output | null);
  'msg'?: "hello"|"watch"|"unwatch"|"forward"|"heartbeat";
}
