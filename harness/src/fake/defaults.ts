/** Every default of the fake, in one place, with units in the names. */
export const FAKE_DEFAULTS = {
  /** Seed of ids, latency jitter and distributions. */
  SEED: 1,
  /** KI-13: vector stores a project may hold. */
  STORE_LIMIT: 100,
  /** Background responses: time spent `queued`, then `in_progress`, before the final status. */
  BACKGROUND_QUEUED_MS: 20,
  BACKGROUND_IN_PROGRESS_MS: 20,
  /** Time a file attached to a vector store stays `in_progress`. */
  FILE_PROCESSING_MS: 0,
  /** Gap between SSE events of a stream (0: all at once). */
  STREAM_EVENT_INTERVAL_MS: 0,
  /** Words per `output_text.delta` / chat chunk. */
  STREAM_WORDS_PER_DELTA: 3,
  /** Pagination of list endpoints, as the real API. */
  LIST_LIMIT_DEFAULT: 20,
  LIST_LIMIT_MAX: 100,
  /** `GET /files` lists up to 10,000 per page, 10,000 by default (spec: `paths./files.get.parameters[limit]`). */
  FILES_LIST_LIMIT_DEFAULT: 10_000,
  FILES_LIST_LIMIT_MAX: 10_000,
  /** `vector_stores.search`: default and maximum `max_num_results`. */
  SEARCH_RESULTS_DEFAULT: 10,
  SEARCH_RESULTS_MAX: 50,
  /** Characters of matched text returned per search hit. */
  SEARCH_EXCERPT_CHARS: 400,
  /** Drip fault: bytes per chunk when the rule gives none. */
  DRIP_CHUNK_BYTES: 16,
  /**
   * After a request body that could not be read, how long to wait for the connection's
   * close before judging the body as the client's malformed request, ms: the body stream
   * fails as the socket goes, and the close can follow a few turns of the loop later.
   */
  BODY_ABORT_GRACE_MS: 200,
} as const;
