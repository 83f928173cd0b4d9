// Original file: protos/relay.proto


export interface Nodes {
  /**
   * a full replica (replace everything) rather than changes
   */
  'full'?: (boolean);
  /**
   * EdgeNode JSON
   */
  'nodes_json'?: (string)[];
  'removed'?: (string)[];
}

export interface Nodes__Output {
  /**
   * a full replica (replace everything) rather than changes
   */
  'full': (boolean);
  /**
   * EdgeNode JSON
   */
  'nodes_json': (string)[];
  'removed': (string)[];
}
