import { describe, expect, it } from 'vitest';
import { ApiError } from '../lib/api';
import { errorMessage } from './useModels';

describe('errorMessage', () => {
  it("names the uploaded file once: not again when the server's message already does", () => {
    const named = new ApiError('bad_model.pickle: not a readable pickle (truncated)', 'bad_model', 422);
    expect(errorMessage(named, 'bad_model.pickle').text).toBe('bad_model.pickle: not a readable pickle (truncated)');
    const unnamed = new ApiError('a valid API token is required', 'unauthorized', 401);
    expect(errorMessage(unnamed, 'bad_model.pickle')).toEqual({
      kind: 'error',
      text: 'bad_model.pickle: a valid API token is required',
    });
    expect(errorMessage(unnamed).text).toBe('a valid API token is required'); // not an upload
  });
});
