/**
 * Project memory: earlier conversations about the project, stored in the background
 * and searchable later. Everything exported here is public API.
 */
export { MemoryQueue } from './queue.ts';
