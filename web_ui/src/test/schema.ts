// The Socket.IO message schema shared with the server (schemas/socket-messages.schema.json),
// for tests: what it says is wrong with a message.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import { SCHEMA_PATH } from '../../scripts/schema-types.mjs';

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
// strictTuples off: a list of poses checks only its first pose; strictRequired off: "not
// required frames" names a key it does not describe
const ajv = new Ajv2020({ strict: true, strictTuples: false, strictRequired: false, allErrors: true });
ajv.addSchema(schema);

/** What `$defs/<definition>` finds wrong with `message` as the server receives it (sent as JSON
 * unless `json` is false, e.g. for binary attachments); [] if nothing. */
export function schemaErrors(definition: string, message: unknown, json = true): string[] {
  const validate = ajv.getSchema(`${schema.$id}#/$defs/${definition}`);
  if (!validate) throw new Error(`no $defs/${definition} in the schema`);
  const valid = validate(json ? JSON.parse(JSON.stringify(message)) : message);
  return valid ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
