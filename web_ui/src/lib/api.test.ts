// @vitest-environment node
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError, buildUploadForm, errorFromBody } from './api';

describe('buildUploadForm', () => {
  it('uses the seed UI form fields, only those given', () => {
    const form = buildUploadForm(new Blob(['x']), 'model.zip', { windowSize: 30, overlap: null });
    expect((form.get('file') as File).name).toBe('model.zip');
    expect(form.get('frame_window_size')).toBe('30');
    expect(form.has('frame_window_overlap')).toBe(false);
  });
});

describe('errorFromBody', () => {
  it('prefers the API error message, then its result sentence', () => {
    const body = {
      result: 'upload failed',
      error: { code: 'not_a_model', message: 'model.pkl: not a readable pickle' },
    };
    expect(errorFromBody(body, 422)).toMatchObject({
      code: 'not_a_model',
      status: 422,
      message: 'model.pkl: not a readable pickle',
    });
    expect(errorFromBody({ result: 'no' }, 400)).toMatchObject({ code: 'http_400', message: 'no' });
    expect(errorFromBody(null, 502).message).toBe('the API answered HTTP 502');
  });
});

describe('ApiClient over HTTP', () => {
  let server: Server;
  let base: string;
  const seen: { method?: string; url?: string; auth?: string; body: string }[] = [];

  beforeAll(async () => {
    // A stand-in answering like the API's routes, to check what the client sends and reads.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        res.setHeader('Content-Type', 'application/json');
        if (req.url === '/models') {
          res.end(JSON.stringify({ models: [], active: null }));
        } else if (!req.headers.authorization) {
          res.statusCode = 401;
          res.end(
            JSON.stringify({
              result: 'refused',
              error: { code: 'unauthorized', message: 'a valid API token is required' },
            }),
          );
        } else {
          res.end(
            JSON.stringify({
              result: 'StreamPoseML Ready: classifier set to m.zip.',
              model: {},
              active: {},
              warnings: [],
            }),
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('lists models, uploads with the bearer token, activates with JSON', async () => {
    const client = new ApiClient(base);
    expect(await client.listModels()).toEqual({ models: [], active: null });
    const change = await client.uploadModel(new File(['pk'], 'm.zip'), { windowSize: 30 }, 'secret');
    expect(change.result).toMatch(/^StreamPoseML Ready/);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/set_model', auth: 'Bearer secret' });
    expect(seen.at(-1)?.body).toContain('name="frame_window_size"');
    await client.activateModel('abc/1', { overlap: 5 }, 'secret');
    expect(seen.at(-1)).toMatchObject({ url: '/models/abc%2F1/activate', body: '{"overlap":5}' });
  });

  it('raises the API message on a refusal', async () => {
    const error = await new ApiClient(base).uploadModel(new File(['pk'], 'm.zip'), {}, null).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized', message: 'a valid API token is required' });
  });

  it('says the API is unreachable when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await new ApiClient(`http://127.0.0.1:${port}`).listModels().catch((e) => e);
    expect(error).toMatchObject({ code: 'unreachable', status: null });
    expect(error.message).toMatch(/is unreachable/);
  });
});
