// The page's title says what runs, so that a tab in the background shows it: the live label and
// the model while a video is classified, the plain title (as index.html's) otherwise.

export const PLAIN_TITLE = 'StreamPoseML · live pose classification';

/** A model's file name without its archive or pickle extension: "arms_raised.zip" -> "arms_raised". */
export function modelTitle(fileName: string): string {
  return fileName.replace(/(\.tar)?\.[A-Za-z0-9]+$/, '') || fileName;
}

/** The title while `streaming` (a video is classified): "<label> · <model> · StreamPoseML", the
 * label left out until the window is full; else the plain title. */
export function pageTitle(streaming: boolean, label: string | null, modelFile: string | null): string {
  if (!streaming) return PLAIN_TITLE;
  const parts = [label, modelFile && modelTitle(modelFile)].filter((part): part is string => !!part);
  return `${parts.length > 0 ? parts.join(' · ') : 'streaming'} · StreamPoseML`;
}
