// A worker for the WorkerPool tests: echoes, fails, spins until cancelled, or dies.
import { serveJobs } from '../../src/context/worker-protocol.ts';

export type PoolTestJob = { op: 'echo'; value: number } | { op: 'fail' } | { op: 'spin' } | { op: 'crash' };

serveJobs<PoolTestJob, number>((job, ctx) => {
  switch (job.op) {
    case 'echo': return { result: job.value * 2 };
    case 'fail': throw new Error('the job failed on purpose');
    case 'spin': {
      const until = Date.now() + 20_000;
      while (!ctx.pace() && Date.now() < until) { /* busy until the pool cancels this job */ }
      return { result: -1 };
    }
    case 'crash': process.exit(3);
  }
});
