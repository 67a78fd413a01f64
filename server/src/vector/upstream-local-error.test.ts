import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APIConnectionError, BadRequestError } from 'openai';
import { ErrorCode } from '../errors.ts';
import { upstreamError } from './upstream.ts';

test('a local failure (SQLite UNIQUE constraint while recording a store id) is not blamed on OpenAI', () => {
  const sqlite = Object.assign(new Error('UNIQUE constraint failed: vector_stores.store_id'), { code: 'ERR_SQLITE_ERROR', errcode: 2067 });
  const e = upstreamError(sqlite, 'prepare a vector store for this session');
  assert.equal(e.code, ErrorCode.LOCAL_FAILURE);
  assert.equal(e.provider, undefined);
  assert.doesNotMatch(e.message, /request to OpenAI failed|OpenAI answered/);
  assert.match(e.message, /local error on this machine, not an OpenAI failure \(UNIQUE constraint failed/);
  assert.equal(e.cause, sqlite);
});

test('upstream failures stay upstream errors', () => {
  const answered = upstreamError(new BadRequestError(400, { message: 'bad', code: 'invalid_value' }, 'bad', new Headers()), 'attach files');
  assert.equal(answered.code, ErrorCode.UPSTREAM_ERROR);
  assert.match(answered.message, /OpenAI answered HTTP 400/);
  const connection = upstreamError(new APIConnectionError({ message: 'socket hang up' }), 'attach files');
  assert.equal(connection.code, ErrorCode.UPSTREAM_ERROR);
  assert.match(connection.message, /the request to OpenAI failed/);
});
