/** Half 2 of the unit part of `npm test` (see unit-suite.ts). */
import { unitShard } from './unit-suite';

unitShard(1, 2);
