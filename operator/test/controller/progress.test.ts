import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { ProgressPoller, ProgressStore, parseProgress, progressChanged } from '../../src/controller/progress';
import { FakeClock } from '../../src/runtime/clock';
import { makeMildnetJob, makePod } from '../fixtures';

const valid = {
  epoch: 2,
  totalEpochs: 30,
  step: 450,
  totalSteps: 6750,
  trainLoss: 0.41,
  valLoss: null,
  valAccuracy: 0.72,
  lastCheckpoint: { epoch: 1, step: 225, time: '2025-03-01T11:55:00Z' },
  phase: 'training',
  updatedTime: '2025-03-01T12:00:00Z',
};

describe('parseProgress', () => {
  test('accepts a contract body', () => {
    expect(parseProgress(valid)).toEqual(valid);
  });

  test('missing optional numbers become null', () => {
    const { trainLoss: _a, valAccuracy: _b, lastCheckpoint: _c, ...rest } = valid;
    expect(parseProgress(rest)).toMatchObject({ trainLoss: null, valAccuracy: null, lastCheckpoint: null });
  });

  const invalid: Array<[string, unknown, string]> = [
    ['not an object', [1], 'progress must be a JSON object, got [1]'],
    ['fractional epoch', { ...valid, epoch: 1.5 }, 'progress.epoch must be a non-negative integer, got 1.5'],
    ['missing step', { ...valid, step: undefined }, 'progress.step must be a non-negative integer, got undefined'],
    ['unknown phase', { ...valid, phase: 'done' }, 'progress.phase must be one of starting, training, validating, checkpointing, finished, interrupted, got "done"'],
    ['string loss', { ...valid, trainLoss: '0.4' }, 'progress.trainLoss must be a finite number or null, got "0.4"'],
    ['bad time', { ...valid, updatedTime: 'yesterday' }, 'progress.updatedTime must be an RFC 3339 time, got "yesterday"'],
    ['bad checkpoint', { ...valid, lastCheckpoint: { epoch: 1 } }, 'progress.lastCheckpoint must be {epoch, step, time} or null, got {"epoch":1}'],
  ];
  test('accepts the interrupted phase', () => {
    expect(parseProgress({ ...valid, phase: 'interrupted' }).phase).toBe('interrupted');
  });

  test.each(invalid)('rejects %s', (_name, body, message) => {
    expect(() => parseProgress(body)).toThrow(message);
  });
});

describe('progressChanged', () => {
  test('ignores updatedTime alone', () => {
    const a = parseProgress(valid);
    expect(progressChanged(a, { ...a, updatedTime: '2025-03-01T12:00:30Z' })).toBe(false);
    expect(progressChanged(a, { ...a, step: 451 })).toBe(true);
    expect(progressChanged(undefined, a)).toBe(true);
  });
});

describe('ProgressPoller', () => {
  let server: http.Server;
  let port: number;
  let body: unknown = valid;
  let requests = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests++;
      if (req.url !== '/progress') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test('reads each running pod and queues changed MildnetJobs once', async () => {
    const store = new ProgressStore();
    const changed: string[] = [];
    const results: string[] = [];
    const mj = makeMildnetJob();
    const poller = new ProgressPoller({
      clock: new FakeClock(),
      store,
      intervalMs: 15_000,
      port,
      targets: () => [{ mj, pod: makePod('Running') }],
      onChange: (key) => changed.push(key),
      onResult: (result) => results.push(result),
    });
    requests = 0;
    body = valid;
    await poller.pollOnce();
    await poller.pollOnce();
    body = { ...valid, step: 460 };
    await poller.pollOnce();
    expect(requests).toBe(3);
    expect(results).toEqual(['ok', 'unchanged', 'ok']);
    expect(changed).toEqual(['team-a/exp1', 'team-a/exp1']);
    expect(store.get('team-a/exp1')?.step).toBe(460);
  });

  test('invalid body counts as an error and stores nothing', async () => {
    const store = new ProgressStore();
    const errors: unknown[] = [];
    const poller = new ProgressPoller({
      clock: new FakeClock(),
      store,
      intervalMs: 15_000,
      port,
      targets: () => [{ mj: makeMildnetJob(), pod: makePod('Running') }],
      onChange: () => undefined,
      onResult: (_result, _key, err) => errors.push(err),
    });
    body = { epoch: 'one' };
    await poller.pollOnce();
    expect(String(errors[0])).toContain('progress.epoch must be a non-negative integer');
    expect(store.get('team-a/exp1')).toBeUndefined();
  });

  test('polls on the interval of the clock', async () => {
    const clock = new FakeClock();
    const poller = new ProgressPoller({
      clock,
      store: new ProgressStore(),
      intervalMs: 15_000,
      port,
      targets: () => [{ mj: makeMildnetJob(), pod: makePod('Running') }],
      onChange: () => undefined,
    });
    requests = 0;
    body = valid;
    poller.start();
    clock.advance(14_999);
    expect(requests).toBe(0);
    clock.advance(1);
    poller.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(requests).toBe(1);
  });
});
