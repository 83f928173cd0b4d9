// Original file: protos/relay.proto


export interface ResourceVersion {
  /**
   * cluster | endpoint | listener | route
   */
  'kind'?: (string);
  'name'?: (string);
  'version'?: (string);
}

export interface ResourceVersion__Output {
  /**
   * cluster | endpoint | listener | route
   */
  'kind': (string);
  'name': (string);
  'version': (string);
}
