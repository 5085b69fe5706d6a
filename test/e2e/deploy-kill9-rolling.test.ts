/** Issue #15's kill -9 matrix for rolling deploys (test/e2e/deploy-kill9-matrix.ts). */
import { describeKillMatrix } from './deploy-kill9-matrix.js';

describeKillMatrix('rolling');
