// MediaPipe PoseLandmarker in a worker, so pose work never blocks the page.
//
// tasks-vision loads its Emscripten loader with importScripts(), which module workers (Vite's
// kind in development and in the build) do not have. The worker fetches the loader itself and
// hands its factory to tasks-vision as `self.ModuleFactory` (an empty wasmLoaderPath skips the
// import), the same files in the same order.
/// <reference lib="webworker" />
import { FilesetResolver, PoseLandmarker } from '@mediapipe/tasks-vision';
import { flattenPoses } from '../lib/pose';
import type { PoseWorkerInit, PoseWorkerReply, PoseWorkerRequest } from './poseProtocol';

declare const self: DedicatedWorkerGlobalScope & { ModuleFactory?: unknown };

let landmarker: PoseLandmarker | null = null;
let lastTimestamp = -1;
let numPoses = 1;

function reply(message: PoseWorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

async function loadWasmFactory(wasmBase: string): Promise<{ wasmLoaderPath: string; wasmBinaryPath: string }> {
  const name = (await FilesetResolver.isSimdSupported()) ? 'vision_wasm_internal' : 'vision_wasm_nosimd_internal';
  const loaderUrl = `${wasmBase}/${name}.js`;
  const response = await fetch(loaderUrl);
  if (!response.ok) throw new Error(`cannot load ${loaderUrl} (HTTP ${response.status}); run \`npm run assets\``);
  const source = await response.text();
  self.ModuleFactory = new Function(`${source}\n;return ModuleFactory;`)();
  return { wasmLoaderPath: '', wasmBinaryPath: `${wasmBase}/${name}.wasm` };
}

async function init(options: PoseWorkerInit): Promise<void> {
  const started = performance.now();
  landmarker?.close();
  landmarker = null;
  const fileset = await loadWasmFactory(options.wasmBase);
  const modelResponse = await fetch(options.modelUrl);
  if (!modelResponse.ok) {
    throw new Error(
      `cannot load the pose model ${options.modelUrl} (HTTP ${modelResponse.status}); run \`npm run assets\``,
    );
  }
  const model = new Uint8Array(await modelResponse.arrayBuffer());
  landmarker = await PoseLandmarker.createFromOptions(fileset, {
    baseOptions: { modelAssetBuffer: model, delegate: options.delegate },
    // the GPU delegate needs a canvas; a worker has only OffscreenCanvas
    canvas: options.delegate === 'GPU' ? new OffscreenCanvas(1, 1) : undefined,
    runningMode: 'VIDEO',
    numPoses: options.numPoses,
    minPoseDetectionConfidence: options.minPoseDetectionConfidence,
    minPosePresenceConfidence: options.minPosePresenceConfidence,
    minTrackingConfidence: options.minTrackingConfidence,
    outputSegmentationMasks: false,
  });
  lastTimestamp = -1;
  numPoses = options.numPoses;
  reply({ type: 'ready', delegate: options.delegate, loadMs: performance.now() - started });
}

function detect(image: VideoFrame | ImageBitmap, frameId: number, timestampMs: number): void {
  try {
    if (!landmarker) throw new Error('the pose model is not loaded yet');
    const timestamp = Math.max(timestampMs, lastTimestamp + 0.001);
    lastTimestamp = timestamp;
    const started = performance.now();
    const result = landmarker.detectForVideo(image, timestamp);
    const inferenceMs = performance.now() - started;
    const landmarks = flattenPoses(result.landmarks, numPoses);
    reply({ type: 'result', frameId, timestampMs, landmarks, inferenceMs }, [landmarks.buffer]);
  } catch (exc) {
    reply({ type: 'error', message: (exc as Error).message, fatal: false, frameId });
  } finally {
    image.close();
  }
}

self.onmessage = (event: MessageEvent<PoseWorkerRequest>) => {
  const message = event.data;
  if (message.type === 'init') {
    init(message).catch((exc: Error) => reply({ type: 'error', message: exc.message, fatal: true }));
  } else if (message.type === 'frame') {
    detect(message.image, message.frameId, message.timestampMs);
  } else if (message.type === 'close') {
    landmarker?.close();
    landmarker = null;
    self.close();
  }
};
