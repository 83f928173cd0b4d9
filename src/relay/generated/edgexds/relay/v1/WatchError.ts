// Original file: protos/relay.proto


export interface WatchError {
  'view'?: (string);
  'message'?: (string);
}

export interface WatchError__Output {
  'view': (string);
  'message': (string);
}
