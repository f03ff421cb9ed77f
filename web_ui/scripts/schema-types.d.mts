// Types of scripts/schema-types.mjs, for src/lib/messages.test.ts.
export declare const SCHEMA_PATH: string;
export declare const TYPES_PATH: string;
export declare function generateMessageTypes(): Promise<string>;
