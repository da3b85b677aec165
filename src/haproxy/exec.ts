// removed once apply.ts imports util/exec
export { run } from '../util/exec.js';
