// Original file: protos/relay.proto


export interface Unwatch {
  'views'?: (string)[];
}

export interface Unwatch__Output {
  'views': (string)[];
}
