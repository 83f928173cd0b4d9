/** Half 1 of the unit part of `npm test` (see unit-suite.ts). */
import { unitShard } from './unit-suite';

unitShard(0, 2);
