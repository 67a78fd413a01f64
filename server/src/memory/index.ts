/**
 * Project memory: earlier conversations about the project, stored in the background
 * and searchable later. Everything exported here is public API.
 */
export { MemoryQueue } from './queue.ts';
export type { MemoryQueueOptions, MemoryStats, HistoryResult } from './queue.ts';
export type { MemoryItem } from './entry.ts';
export type { GitInfo, GitInfoFn } from './git-info.ts';
