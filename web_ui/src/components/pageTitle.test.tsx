// The page title says what runs: the live label and the model while a video is classified, the
// plain title when idle, paused, without a file or disconnected.
import { cleanup } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Models } from '../hooks/useModels';
import type { ModelRecord } from '../lib/api';
import type { FrameResult } from '../lib/payload';
import { PLAIN_TITLE, modelTitle, pageTitle } from '../lib/pageTitle';
import { renderInContexts } from '../test/contexts';
import { PageTitle } from './PageTitle';

afterEach(cleanup);

const raised = { label: 'Arms Raised', frame_id: 3 } as FrameResult;
const models: Models = {
  list: { models: [{ id: 'm', filename: 'arms_raised.zip' } as ModelRecord], active: null },
  loading: false,
  busy: false,
  message: null,
  refresh: async () => undefined,
  upload: async () => true,
  activate: async () => true,
};

describe('pageTitle', () => {
  it('names the label and the model while streaming, nothing else when idle', () => {
    expect(pageTitle(true, 'Arms Raised', 'arms_raised.zip')).toBe('Arms Raised · arms_raised · StreamPoseML');
    expect(pageTitle(true, null, 'arms_raised.zip')).toBe('arms_raised · StreamPoseML'); // window filling
    expect(pageTitle(true, null, null)).toBe('streaming · StreamPoseML');
    expect(pageTitle(false, 'Arms Raised', 'arms_raised.zip')).toBe(PLAIN_TITLE);
    expect(modelTitle('model.tar.gz')).toBe('model');
    expect(modelTitle('arms_raised.pickle')).toBe('arms_raised');
  });
});

describe('PageTitle', () => {
  const renderTitle = (live = {}, source = {}) =>
    renderInContexts(<PageTitle />, {
      live: { lastResult: raised, ...live },
      models: { sessionModelId: 'm', models },
      source,
    });

  it('sets document.title from the live label and the session model while a video is classified', () => {
    renderTitle();
    expect(document.title).toBe('Arms Raised · arms_raised · StreamPoseML');
  });

  it('goes back to the plain title when paused, without a file or disconnected', () => {
    renderTitle({}, { running: false });
    expect(document.title).toBe(PLAIN_TITLE);
    cleanup();
    renderTitle({}, { kind: 'file', file: null });
    expect(document.title).toBe(PLAIN_TITLE);
    cleanup();
    renderTitle({ connected: false });
    expect(document.title).toBe(PLAIN_TITLE);
  });
});
