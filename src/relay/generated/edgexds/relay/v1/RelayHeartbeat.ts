// Original file: protos/relay.proto


export interface RelayHeartbeat {
}

export interface RelayHeartbeat__Output {
}
