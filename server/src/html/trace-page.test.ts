import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spansFromRequest } from '../telemetry/local-traces.ts';
import { SAMPLE_SPAN_COUNT, SAMPLE_TRACE_ID, sampleSpanId, sampleTrace } from './sample-trace.ts';
import { spanStatus, tracePage } from './trace-page.ts';

const spans = spansFromRequest(sampleTrace());

function rows(html: string): Array<{ cls: string; level: number; id: string; parent: string; name: string }> {
  return [...html.matchAll(/<tr class="span-row ([^"]*)" role="row" aria-level="(\d+)" data-span-id="([^"]*)" data-parent-id="([^"]*)"[^>]*>\s*<td[^>]*><button[^>]*><span class="caret" aria-hidden="true"><\/span>([^<]*)<\/button>/g)]
    .map((m) => ({ cls: m[1]!, level: Number(m[2]), id: m[3]!, parent: m[4]!, name: m[5]! }));
}

test('a row and a bar per span, children right under their parent, one level deeper', () => {
  const html = tracePage(spans);
  const r = rows(html);
  assert.equal(r.length, SAMPLE_SPAN_COUNT);
  assert.equal((html.match(/<div class="bar /g) ?? []).length, SAMPLE_SPAN_COUNT);
  assert.deepEqual(r.slice(0, 4).map((x) => [x.name, x.level]), [['tools/call chat_with_o3', 1], ['context.prepare', 2], ['context.upload', 2], ['POST', 3]]);
  for (const [i, row] of r.entries()) {
    if (!row.parent) continue;
    const parentAt = r.findIndex((x) => x.id === row.parent);
    assert.ok(parentAt >= 0 && parentAt < i, `${row.name} comes after its parent`);
    assert.equal(row.level, r[parentAt]!.level + 1);
  }
  assert.ok(html.includes(`<title>Trace ${SAMPLE_TRACE_ID}</title>`));
});

test('the slowest span is the one with the most time of its own, not the root', () => {
  const r = rows(tracePage(spans));
  const slowest = r.filter((x) => /\bslowest\b/.test(x.cls));
  assert.deepEqual(slowest.map((x) => x.id), [sampleSpanId('000c')], 'openai.poll_background: 1030 ms minus 48 ms of requests');
});

test('status colours, cancellations and loop stalls are marked', () => {
  const html = tracePage(spans);
  const byId = new Map(rows(html).map((x) => [x.id, x]));
  assert.match(byId.get(sampleSpanId('0001'))!.cls, /^cancelled/, 'cancelled beats its error status');
  assert.match(byId.get(sampleSpanId('0004'))!.cls, /^error/);
  assert.match(byId.get(sampleSpanId('0002'))!.cls, /^ok/);
  assert.equal((html.match(/class="mark cancel"/g) ?? []).length, 3, '✕ on each span that saw the cancel');
  assert.equal((html.match(/class="stallband"/g) ?? []).length, SAMPLE_SPAN_COUNT, 'one stall, drawn once across every row');
  assert.match(html, /1 loop stall\(s\)/);
  assert.equal((html.match(/<span class="tag stall">loop stall 320 ms<\/span>/g) ?? []).length, 3);
  assert.equal(spanStatus(spans.find((s) => s.name === 'context.prepare')!), 'ok');
});

test('the page is self-contained and escapes what spans carry', () => {
  const hostile = spansFromRequest(sampleTrace()).map((s) => (s.name === 'context.prepare' ? { ...s, name: '<img src=x onerror=alert(1)>', attributes: { ...s.attributes, 'x"y': '</script><b>' } } : s));
  const html = tracePage(hostile);
  assert.doesNotMatch(html, /<img src=x/);
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
  assert.doesNotMatch(html, /<\/script><b>/);
  assert.doesNotMatch(html, /<link |<script src|src="http|href="http|url\(http/);
  assert.match(html, /Content-Security-Policy" content="default-src &#39;none&#39;|Content-Security-Policy" content="default-src 'none'/);
});

test('rows past the bound are counted, not drawn', () => {
  const html = tracePage(spans, { maxSpans: 5 });
  assert.equal(rows(html).length, 5);
  assert.match(html, /… 9 more spans not drawn \(at most 5\)/);
});

test("the watchdog's loop.blocked span is drawn as the same stall its events mark, not as a second one", () => {
  const req = sampleTrace();
  const stallStart = spans.find((s) => s.name === 'chat o3')!.events.find((e) => e.name === 'second_brain.loop.blocked')!.timeNs;
  const spansArr = req.resourceSpans![0]!.scopeSpans![0]!.spans as Array<Record<string, unknown>>;
  spansArr.push({ traceId: 'ffffffffffffffffffffffffffffffff', spanId: 'bbbbbbbbbbbbbbbb', name: 'loop.blocked', kind: 1, startTimeUnixNano: String(stallStart), endTimeUnixNano: String(stallStart + 320_000_000n), attributes: [{ key: 'second_brain.loop.blocked_ms', value: { intValue: '320' } }], events: [], status: { code: 0 } });
  const html = tracePage(spansFromRequest(req));
  assert.match(html, /<div class="bar stall"/);
  assert.match(html, /1 loop stall\(s\)/);
  assert.equal((html.match(/<span class="tag stall">loop stall 320 ms<\/span>/g) ?? []).length, 4);
});
