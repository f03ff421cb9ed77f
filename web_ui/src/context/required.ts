/** A context's value, or an error naming the provider the component is rendered outside of. */
export function required<T>(value: T | null, hook: string, provider: string): T {
  if (value === null) throw new Error(`${hook}() is used outside <${provider}>`);
  return value;
}
