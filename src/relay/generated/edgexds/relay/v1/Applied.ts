// Original file: protos/relay.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Every ViewUpdate sent before this message reflects forwarded ops up to seq.
 */
export interface Applied {
  'seq'?: (number | string | Long);
}

/**
 * Every ViewUpdate sent before this message reflects forwarded ops up to seq.
 */
export interface Applied__Output {
  'seq': (number);
}
