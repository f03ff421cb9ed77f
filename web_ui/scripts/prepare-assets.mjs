// Puts the files MediaPipe needs in the browser under public/, so the app is served offline:
//   public/wasm/    tasks-vision's WASM runtime, copied from node_modules (this package's pin)
//   public/models/  pose_landmarker_{lite,full,heavy}.task, built by the Python package
//                   (`stream-pose-ml assets copy-web public/models`, from ../.venv if present)
// Both folders are git-ignored. Runs before `npm run dev` and `npm run build`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const wasmSource = join(root, 'node_modules/@mediapipe/tasks-vision/wasm');
const wasmTarget = join(root, 'public/wasm');
const modelsTarget = join(root, 'public/models');
const MODELS = ['lite', 'full', 'heavy'].map((name) => `pose_landmarker_${name}.task`);

mkdirSync(wasmTarget, { recursive: true });
for (const file of readdirSync(wasmSource)) copyFileSync(join(wasmSource, file), join(wasmTarget, file));
console.log(`copied MediaPipe WASM files to ${wasmTarget}`);

const missing = MODELS.filter((name) => !existsSync(join(modelsTarget, name)));
if (missing.length > 0) {
  const cli = process.env.STREAM_POSE_ML_CLI ?? join(root, '../.venv/bin/stream-pose-ml');
  if (!existsSync(cli)) {
    console.error(
      `missing ${missing.join(', ')} in ${modelsTarget}: run ` +
        '`.venv/bin/stream-pose-ml assets copy-web web_ui/public/models` (after scripts/bootstrap.sh)',
    );
    process.exit(1);
  }
  execFileSync(cli, ['assets', 'copy-web', modelsTarget], { stdio: 'inherit' });
}
console.log(`pose models in ${modelsTarget}: ${MODELS.join(', ')}`);
