// Original file: protos/relay.proto


export interface Resource {
  'name'?: (string);
  'version'?: (string);
  /**
   * the serialized Envoy resource, byte for byte what the global tier sends its own proxies
   */
  'body'?: (Buffer | Uint8Array | string);
}

export interface Resource__Output {
  'name': (string);
  'version': (string);
  /**
   * the serialized Envoy resource, byte for byte what the global tier sends its own proxies
   */
  'body': (Buffer);
}
