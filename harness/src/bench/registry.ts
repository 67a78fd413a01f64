import { scaleBenchmark } from './scale.ts';
import type { Benchmark } from './types.ts';

/** Every benchmark, in the order `npm run bench` runs them. Add a module here to add one. */
export const BENCHMARKS: readonly Benchmark[] = [scaleBenchmark];
